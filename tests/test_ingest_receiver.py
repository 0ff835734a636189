"""The live OTLP/HTTP receiver: the real OpenTelemetry SDK exporting to it, the answers the OTLP
spec asks for, and a busy warehouse delaying the load without losing anything."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from ingest import receiver
from ingest.cli import main
from ingest.spool import JSON, PROTOBUF, Spool, SpoolLoader, batch_chunk
from tests.otlp import protobuf_request
from warehouse.db import connect

ROOT = Path(__file__).resolve().parent.parent
TRACES = Path(__file__).parent / "fixtures" / "traces"


def rows(db: Path, sql: str) -> list[tuple]:
    with connect(db) as con:  # waits while the receiver's loader holds the file
        return con.execute(sql).fetchall()


def wait_for(check, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def post(url: str, body: bytes, content_type: str, encoding: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": content_type, **({"Content-Encoding": encoding} if encoding else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class ReceiverProcess:
    """`python -m ingest serve --port 0` in a real subprocess."""

    def __init__(self, db: Path, *options: str) -> None:
        env = {**os.environ, "CALLBOARD_DB": str(db)}
        self.process = subprocess.Popen([sys.executable, "-m", "ingest", "serve", "--port", "0", *options], cwd=ROOT,
                                        env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert "Receiving OTLP/HTTP traces on http://127.0.0.1:" in first, first + self.process.stderr.read()
        self.url = first.split(" on ")[1].split(" ")[0]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, stderr
        return stderr


def start_receiver(db: Path) -> receiver.Served:
    """A receiver in this process (port chosen by the system) taking bodies of up to 64 KiB, loading into `db`."""
    with connect(db):
        pass  # the schema first: the test's reads and the loader's writes must not both create it
    return receiver.start(port=0, db_path=db, limits=receiver.Limits(max_body_bytes=64 * 1024), poll_s=0.1, quiet=True)


@pytest.fixture
def served(warehouse_file: Path) -> Iterator[str]:
    """A receiver loading into this test's `warehouse_file`."""
    served = start_receiver(warehouse_file)
    yield served.url
    served.stop()


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[receiver.Served]:
    """One receiver for the tests whose requests it answers without spooling anything (refusals,
    an empty export, a wrong path), so each can still check that nothing was spooled: starting one
    costs ~1.5 CPU-seconds (its loader is a process of its own)."""
    served = start_receiver(tmp_path_factory.mktemp("refusing") / "callboard.duckdb")
    yield served
    served.stop()


def test_spans_from_the_opentelemetry_sdk_arrive(warehouse_file: Path) -> None:
    served = ReceiverProcess(warehouse_file)
    try:
        for compression in (Compression.NoCompression, Compression.Gzip):
            provider = TracerProvider(resource=Resource.create({"service.name": "sdk-agent"}))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=served.url,
                                                                            compression=compression)))
            tracer = provider.get_tracer("voice")
            call_id = f"sdk-{compression.value}"
            with tracer.start_as_current_span("call", attributes={"session.id": call_id}):
                for index, (speaker, text) in enumerate([("agent", "Hello!"), ("customer", "Hi, a table for 2")]):
                    with tracer.start_as_current_span("turn", attributes={
                            "callboard.turn.index": index, "callboard.turn.speaker": speaker,
                            "callboard.turn.text": text}):
                        pass
                with tracer.start_as_current_span("chat", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1-mini",
                        "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 7}):
                    pass
            assert provider.force_flush(30_000)
            provider.shutdown()
        wait_for(lambda: rows(warehouse_file, "SELECT count(*) FROM spans") == [(8,)])
        calls = rows(warehouse_file, "SELECT call_id, agent, model, span_count, turn_count, input_tokens FROM calls "
                     "ORDER BY call_id")
        assert calls == [("sdk-gzip", "sdk-agent", "gpt-4.1-mini", 4, 2, 50),
                         ("sdk-none", "sdk-agent", "gpt-4.1-mini", 4, 2, 50)]
        assert rows(warehouse_file, "SELECT text FROM turns WHERE call_id = 'sdk-gzip' ORDER BY turn_index") == [
            ("Hello!",), ("Hi, a table for 2",)]
    finally:
        log = served.stop()
    assert "loaded" in log
    assert rows(warehouse_file, "SELECT kind, status, records_loaded FROM ingest_runs") == [("receiver", "ok", 8)]
    assert not list((warehouse_file.parent / "spool").glob("*.json"))


def test_partial_success_names_the_refused_spans(served: str, warehouse_file: Path) -> None:
    good, bad = (json.loads(line) for line in TRACES.joinpath("bad.jsonl").read_bytes().splitlines()[0:4:3])
    good["resourceSpans"][0]["scopeSpans"][0]["spans"] += bad["resourceSpans"][0]["scopeSpans"][0]["spans"]
    body = json.dumps(good).encode()
    status, answer = post(served, body, "application/json")
    assert status == 200
    partial = json.loads(answer)["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "missing or malformed traceId" in partial["errorMessage"]
    wait_for(lambda: rows(warehouse_file, "SELECT count(*) FROM quarantine") == [(1,)])
    assert rows(warehouse_file, "SELECT span_id FROM spans") == [("c000000000000001",)]
    assert rows(warehouse_file, "SELECT reason FROM quarantine") == [("missing or malformed traceId",)]


def test_protobuf_answers_in_protobuf_and_gzip_json_is_accepted(served: str, warehouse_file: Path) -> None:
    request = protobuf_request(TRACES.joinpath("genai_late.jsonl").read_text())
    status, answer = post(served, request.SerializeToString(), "application/x-protobuf")
    assert status == 200
    response = ExportTraceServiceResponse()
    response.ParseFromString(answer)
    assert not response.HasField("partial_success")
    status, answer = post(served, gzip.compress(TRACES.joinpath("genai_hex.jsonl").read_bytes().split(b"\n")[0]),
                          "application/json; charset=utf-8", "gzip")
    assert (status, json.loads(answer)) == (200, {})
    wait_for(lambda: rows(warehouse_file, "SELECT count(*) FROM spans") == [(3 + 4,)])


@pytest.mark.parametrize(("body", "content_type", "encoding", "status", "message"), [
    (b"\xff\x00garbage", "application/x-protobuf", None, 400, "not an OTLP ExportTraceServiceRequest"),
    (b"{nope", "application/json", None, 400, "not valid JSON"),
    (b'{"resourceSpans": "many"}', "application/json", None, 400, 'no "resourceSpans" list'),
    (b"not gzip", "application/json", "gzip", 400, "not valid gzip"),
    (b"{}", "text/plain", None, 415, "Content-Type text/plain is not supported"),
    (b"{}", "application/json", "br", 415, "Content-Encoding br is not supported"),
    (b"x" * (64 * 1024 + 1), "application/json", None, 413, "over 65,536 bytes"),
    (gzip.compress(b" " * (1024 * 1024)), "application/json", "gzip", 413, "over 65,536 bytes unzipped"),
])
def test_bad_requests_get_the_status_the_spec_asks_for(
    refusing: receiver.Served, body: bytes, content_type: str, encoding: str | None, status: int, message: str,
) -> None:
    got, answer = post(refusing.url, body, content_type, encoding)
    assert got == status
    if content_type == "application/x-protobuf":
        assert message.encode() in answer  # a google.rpc.Status: code (field 1), message (field 2)
        assert answer[:2] == b"\x08" + bytes([status & 0x7F | 0x80])
    else:
        assert json.loads(answer)["code"] == status and message in json.loads(answer)["message"]
    assert not list(refusing.spool.folder.glob("*.json"))  # nothing refused is spooled


def test_empty_export_is_a_success_and_other_paths_are_not_found(refusing: receiver.Served) -> None:
    assert post(refusing.url, b'{"resourceSpans": []}', "application/json") == (200, b"{}")
    assert not list(refusing.spool.folder.glob("*.json"))  # nothing to load
    status, answer = post(refusing.url.replace("/v1/traces", "/v1/metrics"), b"{}", "application/json")
    assert (status, json.loads(answer)["message"]) == (404, "Callboard receives traces on /v1/traces.")


def test_busy_warehouse_delays_the_load_and_loses_nothing(warehouse_file: Path) -> None:
    with connect(warehouse_file):
        pass  # the warehouse exists, with its schema
    spool = warehouse_file.parent / "spool"
    lines = [*TRACES.joinpath("genai_hex.jsonl").read_bytes().splitlines(),
             TRACES.joinpath("genai_late.jsonl").read_bytes().strip()]
    first = ReceiverProcess(warehouse_file)
    holder = duckdb.connect(str(warehouse_file))  # another process holds the file: no one else may open it
    try:
        for line in lines[:2]:
            assert post(first.url, line, "application/json")[0] == 200
        time.sleep(2)  # the loader tries, and waits
        assert len(list(spool.glob("*.json"))) == 2
        first.process.send_signal(signal.SIGTERM)  # a restart while the warehouse is still busy
        first.process.communicate(timeout=90)
    finally:
        holder.close()
    assert len(list(spool.glob("*.json"))) == 2  # what was accepted is still on disk
    second = ReceiverProcess(warehouse_file)
    try:
        assert post(second.url, lines[2], "application/json")[0] == 200
        wait_for(lambda: rows(warehouse_file, "SELECT count(*) FROM spans") == [(12,)])
        assert rows(warehouse_file, "SELECT call_id, span_count, turn_count FROM calls") == [("call-genai-1", 12, 5)]
    finally:
        second.stop()
    assert not list(spool.glob("*.json"))


def test_a_port_in_use_is_one_clear_line(warehouse_file: Path, capsys: pytest.CaptureFixture) -> None:
    """In-process (the CLI's `main`): the port is refused before anything starts."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: Cannot listen on 127.0.0.1:{port}") and len(error.splitlines()) == 1


def test_the_loader_keeps_damaged_spool_files_as_refused_lines_and_loads_the_rest(warehouse_file: Path) -> None:
    """Bodies damaged on disk after their answer (a protobuf that no longer parses, JSON with bytes that
    are not UTF-8 and raw newlines) become one refused line each, kept byte for byte or as text; the
    good body beside them loads. Protobuf and JSON bodies go in separate batches."""
    with connect(warehouse_file):
        pass
    good = TRACES.joinpath("genai_hex.jsonl").read_bytes().splitlines()[0]
    damaged = b"\x0a\xff\xfe\n\x12 not a request"
    spool = Spool(warehouse_file.parent / "spool")
    spool.write(protobuf_request(good).SerializeToString(), PROTOBUF)
    spool.write(damaged, PROTOBUF)
    spool.write(b'{"resourceSpans": [\n{"scopeSpans": \xff}]}', JSON)
    first = spool.next_batch()
    assert [path.suffix for path in first] == [PROTOBUF, PROTOBUF]
    assert [(line, record) for line, _, record in batch_chunk(first).unreadable] == [(2, damaged)]
    second = spool.next_batch(skip=set(first))
    assert [path.suffix for path in second] == [JSON]
    assert "\n" not in batch_chunk(second).lines.column("doc")[0].as_py()
    loader = SpoolLoader(spool, threading.Event(), threading.Event(), db_path=warehouse_file, log=lambda line: None)
    loader.load_waiting()
    stored = rows(warehouse_file, "SELECT count(*) FROM spans")[0][0]
    assert stored == len(json.loads(good)["resourceSpans"][0]["scopeSpans"][0]["spans"])
    refused = rows(warehouse_file, "SELECT location, reason, record FROM quarantine ORDER BY reason")
    assert [(location, reason.split(" (")[0]) for location, reason, _ in refused] == [
        ("line 2", "not an OTLP protobuf ExportTraceServiceRequest"), ("line 1", "not valid JSON")]
    assert refused[0][2] == damaged
    assert not spool.next_batch()
