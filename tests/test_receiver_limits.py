"""The receiver under pressure: a full spool or too much in flight is answered 429/503 with
Retry-After (and the real SDK exporter retries until it gets through), stalled or short requests
never hold the server or get processed, a full disk leaves no file behind, and what was answered
200 survives SIGKILL."""

from __future__ import annotations

import errno
import gzip
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from ingest import receiver, spool
from tests.otlp import protobuf_request
from tests.test_ingest_receiver import TRACES, ReceiverProcess, rows, wait_for
from warehouse.db import connect

GOOD = TRACES.joinpath("genai_hex.jsonl").read_bytes().splitlines()[0]  # 4 spans of call-genai-1
TIMEOUT_S = 1.0


def post(url: str, body: bytes, encoding: str | None = None, content_type: str = "application/json",
         ) -> tuple[int, Message, bytes]:
    """Status, headers (any case) and body of one POST."""
    headers = {"Content-Type": content_type, **({"Content-Encoding": encoding} if encoding else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def spooled(folder: Path) -> list[str]:
    """Every file under the spool, the half-written ones in incoming/ included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def schema(warehouse_file: Path) -> Path:
    with connect(warehouse_file):
        pass  # the schema first: the test's reads and the loader's writes must not both create it
    return warehouse_file


def start_receiver(db: Path) -> receiver.Served:
    """A receiver in this process with short read timeouts and room for two requests at once."""
    return receiver.start(port=0, db_path=db, poll_s=0.1, quiet=True,
                          limits=receiver.Limits(max_requests=2, max_bytes_in_flight=4096, read_timeout_s=TIMEOUT_S))


@pytest.fixture
def served(schema: Path) -> Iterator[receiver.Served]:
    """A receiver loading into this test's warehouse."""
    running = start_receiver(schema)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[receiver.Served]:
    """One receiver for the tests of what it does with connections (their spans are not checked):
    starting one costs ~1.5 CPU-seconds, its loader being a process of its own. Each test leaves it
    as it found it: nothing in flight, nothing spooled."""
    db = tmp_path_factory.mktemp("connections") / "callboard.duckdb"
    with connect(db):
        pass
    running = start_receiver(db)
    yield running
    running.stop()


def drained(served: receiver.Served) -> None:
    """Wait until what was answered 200 has been loaded: the spool is empty again."""
    wait_for(lambda: spooled(served.spool.folder) == [], TIMEOUT_S + 30)


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def open_request(url: str, body_part: bytes, content_length: int) -> socket.socket:
    """A POST whose headers promise `content_length` bytes, of which only `body_part` is sent."""
    connection = socket.create_connection(("127.0.0.1", port_of(url)), timeout=10)
    connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % content_length + body_part)
    return connection


def answer_of(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_a_body_shorter_than_its_content_length_is_refused_not_processed(shared: receiver.Served) -> None:
    stalled = open_request(shared.url, GOOD[:100], len(GOOD))
    began = time.monotonic()
    answer = answer_of(stalled)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within 1 s (100 of" in answer
    assert time.monotonic() - began < TIMEOUT_S + 2
    hung_up = open_request(shared.url, GOOD[:100], len(GOOD))
    hung_up.shutdown(socket.SHUT_WR)  # the client gives up halfway
    assert answer_of(hung_up) == b""  # no one is left to answer
    time.sleep(0.5)
    assert spooled(shared.spool.folder) == []
    assert shared.receiver.requests_in_flight == 0 and shared.receiver.bytes_in_flight == 0


def test_a_body_without_content_length_is_refused(shared: receiver.Served) -> None:
    connection = socket.create_connection(("127.0.0.1", port_of(shared.url)), timeout=10)
    connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(GOOD), GOOD))
    answer = answer_of(connection)
    assert answer.startswith(b"HTTP/1.1 411 ") and b"A Content-Length header is required." in answer
    assert spooled(shared.spool.folder) == []


def test_idle_and_slow_header_connections_are_closed_and_do_not_block_others(shared: receiver.Served) -> None:
    idle = [socket.create_connection(("127.0.0.1", port_of(shared.url)), timeout=10) for _ in range(200)]
    slow = socket.create_connection(("127.0.0.1", port_of(shared.url)), timeout=10)
    for piece in (b"POST /v1/traces HTTP/1.1\r\n", b"Host: x\r\n"):  # slowloris: headers a bit at a time
        slow.sendall(piece)
        time.sleep(TIMEOUT_S / 3)
    began = time.monotonic()
    assert post(shared.url, GOOD)[0] == 200  # 200 idle connections hold nothing anyone needs
    assert time.monotonic() - began < TIMEOUT_S
    slow.sendall(b"X-Still: here\r\n")
    assert answer_of(slow) == b""  # closed at the deadline although it kept sending
    assert all(answer_of(connection) == b"" for connection in idle)
    for connection in [*idle, slow]:
        connection.close()
    drained(shared)


def test_too_much_in_flight_is_answered_429_with_retry_after(shared: receiver.Served) -> None:
    first, second = (open_request(shared.url, b"{", 1000) for _ in range(2))  # two slow bodies hold both slots
    time.sleep(0.2)
    status, headers, answer = post(shared.url, GOOD)
    assert (status, headers["Retry-After"]) == (429, "1")
    assert "too much at once" in json.loads(answer)["message"]
    assert answer_of(first).startswith(b"HTTP/1.1 408 ") and answer_of(second).startswith(b"HTTP/1.1 408 ")
    big = open_request(shared.url, b"{", 4000)  # 4,000 of the 4,096 bytes allowed in flight
    time.sleep(0.2)
    status, headers, _ = post(shared.url, GOOD)  # over the bytes in flight, under the request count
    assert (status, headers["Retry-After"]) == (429, "1")
    big.close()
    wait_for(lambda: shared.receiver.bytes_in_flight == 0, TIMEOUT_S + 2)
    assert post(shared.url, GOOD)[0] == 200
    drained(shared)


def test_multi_member_gzip_is_one_body(served: receiver.Served, schema: Path) -> None:
    half = len(GOOD) // 2
    body = gzip.compress(GOOD[:half]) + gzip.compress(GOOD[half:])  # RFC 1952: members concatenate
    assert post(served.url, body, "gzip")[0] == 200
    wait_for(lambda: rows(schema, "SELECT count(*) FROM spans") == [(4,)])
    assert post(served.url, body[:-5], "gzip")[0] == 400  # the last member cut short


def test_a_full_disk_leaves_no_file_and_answers_503(served: receiver.Served, monkeypatch: pytest.MonkeyPatch,
                                                    schema: Path) -> None:
    def no_space(handle: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(spool.os, "write", no_space)
    status, headers, answer = post(served.url, GOOD)
    assert (status, headers["Retry-After"]) == (503, "2")
    assert "No space left on device" in json.loads(answer)["message"]
    assert spooled(served.spool.folder) == [] and served.spool.bytes_waiting == 0
    monkeypatch.undo()
    assert post(served.url, GOOD)[0] == 200  # the client's retry, once there is room
    wait_for(lambda: rows(schema, "SELECT count(*) FROM spans") == [(4,)])


def test_the_folder_is_fsynced_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(spool.os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                        real_fsync(fd))[1])
    written = spool.Spool(tmp_path / "spool").write(GOOD, spool.JSON)
    assert synced == [str(tmp_path / "spool" / "incoming" / written.name), str(tmp_path / "spool")]


def test_loader_refusals_are_quarantined_though_the_answer_counted_none(served: receiver.Served,
                                                                       schema: Path) -> None:
    document = json.loads(GOOD)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    span["attributes"].append({"key": "blob", "value": {"stringValue": "x" * (65 * 1024)}})
    status, _, answer = post(served.url, json.dumps(document).encode())
    assert (status, json.loads(answer)) == (200, {})  # only the full parse sees an oversized attribute
    wait_for(lambda: rows(schema, "SELECT count(*) FROM quarantine") == [(1,)])
    assert rows(schema, "SELECT location, reason FROM quarantine") == [
        ("line 1, span 2", 'attribute "blob" is over 64 KiB')]
    assert rows(schema, "SELECT count(*) FROM spans") == [(3,)]


def test_the_request_check_and_the_loader_refuse_the_same_spans(served: receiver.Served, schema: Path) -> None:
    request = protobuf_request(GOOD)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].trace_id = b""
    spans[2].end_time_unix_nano = spans[2].start_time_unix_nano - 1
    status, _, answer = post(served.url, request.SerializeToString(), content_type="application/x-protobuf")
    response = ExportTraceServiceResponse()
    response.ParseFromString(answer)
    assert (status, response.partial_success.rejected_spans) == (200, 2)
    assert "first: missing or malformed traceId" in response.partial_success.error_message
    wait_for(lambda: rows(schema, "SELECT count(*) FROM quarantine") == [(2,)])
    assert rows(schema, "SELECT location, reason FROM quarantine ORDER BY location") == [
        ("line 1, span 2", "missing or malformed traceId"),
        ("line 1, span 3", "absurd timestamp (the span ends before it starts)")]


def sdk_provider(url: str, batch: int = 512) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-agent"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url, timeout=30),
                                                   max_export_batch_size=batch, max_queue_size=10_000))
    return provider


def make_calls(provider: TracerProvider, calls: int, turns: int) -> None:
    tracer = provider.get_tracer("voice")
    for call in range(calls):
        with tracer.start_as_current_span("call", attributes={"session.id": f"call-{call}"}):
            for index in range(turns):
                with tracer.start_as_current_span("turn", attributes={
                        "callboard.turn.index": index, "callboard.turn.speaker": "agent",
                        "callboard.turn.text": f"turn {index}"}):
                    pass


def test_a_full_spool_answers_503_and_the_sdk_retries_until_it_fits(schema: Path) -> None:
    served = ReceiverProcess(schema, "--spool-max-mb", "0.0021")  # 2,100 bytes: room for one request
    try:
        holder = duckdb.connect(str(schema))  # the loader cannot load, so the spool stays full
        try:
            assert post(served.url, GOOD)[0] == 200
            status, headers, answer = post(served.url, GOOD)
            assert (status, headers["Retry-After"]) == (503, "2")
            assert "spool is full" in json.loads(answer)["message"]
            provider = sdk_provider(served.url)
            make_calls(provider, calls=1, turns=3)
            flushed = []
            flusher = threading.Thread(target=lambda: flushed.append(provider.force_flush(30_000)), daemon=True)
            flusher.start()
            time.sleep(3)  # the exporter is refused, waits Retry-After, tries again
            assert not flushed
        finally:
            holder.close()  # the loader drains the spool; the exporter's next try fits
        flusher.join(30)
        provider.shutdown()
        wait_for(lambda: rows(schema, "SELECT count(*) FROM spans") == [(4 + 4,)])
    finally:
        served.stop()


def test_sigkill_right_after_the_answers_loses_nothing(schema: Path) -> None:
    served = ReceiverProcess(schema)
    provider = sdk_provider(served.url, batch=100)
    try:
        make_calls(provider, calls=200, turns=9)  # 2,000 spans in 20 requests
        assert provider.force_flush(60_000)  # every request answered 200
    finally:
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(30)
        provider.shutdown()
    assert not list((schema.parent / "spool" / "incoming").iterdir())
    again = ReceiverProcess(schema)
    try:
        wait_for(lambda: rows(schema, "SELECT count(*) FROM spans") == [(2000,)])
        assert rows(schema, "SELECT count(*), sum(span_count), sum(turn_count) FROM calls") == [(200, 2000, 1800)]
    finally:
        again.stop()
    assert not list((schema.parent / "spool").glob("*.pb"))
