"""Trace files too large to hold are read in pieces: an OTLP protobuf message is cut at the wire
level (by resource, scope and runs of spans), so memory stays bounded whatever the file's size,
every span loads as if the file were read whole, and a refused span keeps its place in the
message."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest import json_documents, protobuf_files
from ingest.otlp_protobuf import varint
from ingest.traces import ingest_traces

ROOT = Path(__file__).resolve().parent.parent
NS = 1_760_000_000_000_000_000
NOTE = 'a \\" ] } \\\\ [ {"x": 1}'  # a backslash before a quote, two before a bracket


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _request(resources: int, scopes: int, spans: int, first_call: int = 0) -> ExportTraceServiceRequest:
    """Resources of scopes of spans; each scope is one call (a root naming it, children after)."""
    request = ExportTraceServiceRequest()
    call = first_call
    for r in range(resources):
        resource = request.resource_spans.add()
        pair = resource.resource.attributes.add()
        pair.key, pair.value.string_value = "service.name", f"agent-{r}"
        for _ in range(scopes):
            scope = resource.scope_spans.add()
            scope.scope.name = "test"
            for k in range(spans):
                span = scope.spans.add()
                span.trace_id = (call + 1).to_bytes(16, "big")
                span.span_id = (call * 1000 + k + 1).to_bytes(8, "big")
                span.name = "turn" if k else "call"
                span.start_time_unix_nano = NS + k * 1_000_000
                span.end_time_unix_nano = NS + (k + 1) * 1_000_000
                pair = span.attributes.add()
                pair.key, pair.value.string_value = ("session.id", f"call-{call}") if not k else ("note", "x" * 40)
            call += 1
    return request


@pytest.mark.parametrize("framed", [False, True])
def test_a_message_larger_than_a_piece_loads_as_if_read_whole(
        framed: bool, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three messages: whole resources grouped, a resource cut into scopes, a scope cut into runs of
    spans; a span with a zero trace id deep inside the cut scope is refused at its place."""
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", 2_000)
    monkeypatch.setattr(protobuf_files, "CHUNK_BYTES", 6_000)
    messages = [_request(4, 1, 3), _request(1, 5, 4, first_call=100), _request(2, 1, 60, first_call=200)]
    messages[2].resource_spans[1].scope_spans[0].spans[41].trace_id = bytes(16)
    bodies = [m.SerializeToString() for m in messages]
    path = tmp_path / "traces.pb"
    if framed:
        path.write_bytes(b"".join(len(body).to_bytes(4, "big") + body for body in bodies))
    else:
        whole = ExportTraceServiceRequest()
        for message in messages:
            whole.resource_spans.extend(message.resource_spans)
        path.write_bytes(whole.SerializeToString())
    assert len(bodies[2]) > 3 * protobuf_files.PIECE_BYTES
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (12 + 20 + 120, 151, 1)
    calls = rows(warehouse_file, "SELECT call_id, agent, span_count FROM calls ORDER BY call_id")
    expected = [(f"call-{c}", f"agent-{c}", 3) for c in range(4)]
    expected += [(f"call-{c}", "agent-0", 4) for c in range(100, 105)]
    expected += [("call-200", "agent-0", 60), ("call-201", "agent-1", 59)]
    assert sorted(calls) == sorted(expected)
    where = "line 3, resource 2, span 42" if framed else "line 1, resource 7, span 42"
    assert rows(warehouse_file, "SELECT location, reason FROM quarantine") == [(where, "missing or malformed traceId")]


def test_a_cut_short_message_loads_its_whole_pieces_and_refuses_the_rest(
        tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", 2_000)
    body = _request(1, 1, 60).SerializeToString()
    path = tmp_path / "traces.pb"
    path.write_bytes(body[: len(body) * 2 // 3])
    summary = ingest_traces([path], db_path=warehouse_file)
    assert 0 < summary.loaded < 40 and summary.quarantined == 1
    ((location, reason, record),) = rows(warehouse_file, "SELECT location, reason, record FROM quarantine")
    assert location == "line 1" and reason.startswith("the protobuf is damaged or cut short here")
    assert len(record) <= protobuf_files.PIECE_BYTES and record in body


def _json_document(resource_after_scopes: bool) -> dict:
    """An export whose text is hard to cut: quotes, backslashes and brackets inside strings, a
    resource written after its scopes, a scope too large for a piece, a refused span."""
    resources = []
    call = 0
    for r, (scopes, spans) in enumerate([(1, 3), (1, 3), (4, 3), (1, 70), (2, 2)]):
        scope_list = []
        for _ in range(scopes):
            call += 1
            scope_list.append({"scope": {"name": 'a "scope" {['}, "spans": [
                {"traceId": f"{call:032x}", "spanId": f"{call * 1000 + k + 1:016x}", "name": "turn" if k else "call",
                 "startTimeUnixNano": str(NS + k), "endTimeUnixNano": str(NS + k + 1),
                 "attributes": [{"key": "session.id" if not k else "note",
                                 "value": {"stringValue": f"call-{call}" if not k else NOTE}}]}
                for k in range(spans)]})
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": f"agent-{r}"}}]}
        resources.append({"scopeSpans": scope_list, "resource": resource} if resource_after_scopes
                         else {"resource": resource, "scopeSpans": scope_list, "schemaUrl": ""})
    resources[3]["scopeSpans"][0]["spans"][50]["traceId"] = "0" * 32
    return {"resourceSpans": resources}


@pytest.mark.parametrize("resource_after_scopes", [False, True])
def test_a_large_json_document_loads_in_pieces_as_if_read_whole(
        resource_after_scopes: bool, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_documents, "PIECE_BYTES", 3_000)
    monkeypatch.setattr(json_documents, "_WINDOW_BYTES", 997)  # strings and escapes cross the windows' edges
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(_json_document(resource_after_scopes), indent=2))
    assert path.stat().st_size > 10 * json_documents.PIECE_BYTES
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (3 + 3 + 12 + 70 + 4, 91, 1)
    calls = rows(warehouse_file, "SELECT call_id, agent, span_count FROM calls")
    agents = [0, 1, 2, 2, 2, 2, 3, 4, 4]
    expected = [(f"call-{c}", f"agent-{a}", 3) for c, a in zip(range(1, 7), agents, strict=False)]
    expected += [("call-7", "agent-3", 69), ("call-8", "agent-4", 2), ("call-9", "agent-4", 2)]
    assert sorted(calls) == sorted(expected)
    assert rows(warehouse_file, "SELECT location, reason FROM quarantine") == [
        ("line 1, resource 4, span 51", "missing or malformed traceId")]
    stored = rows(warehouse_file, "SELECT attributes->>'note' FROM spans WHERE name = 'turn' LIMIT 1")
    assert stored == [(NOTE,)]


def test_a_json_document_cut_short_loads_the_spans_before_the_cut(
        tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_documents, "PIECE_BYTES", 3_000)
    text = json.dumps(_json_document(False), indent=2)
    cut = text.index(f"\"spanId\": \"{7 * 1000 + 49:016x}\"")  # inside the 70-span scope's 49th span
    path = tmp_path / "traces.json"
    path.write_text(text[:cut])
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (3 + 3 + 12 + 48, 1)
    ((location, reason, record),) = rows(warehouse_file, "SELECT location, reason, decode(record) FROM quarantine")
    assert location == "line 1" and reason.startswith("the JSON document is cut short")
    assert record.lstrip().startswith("{") and record in text


@functools.cache
def _span_pattern(pretty: bool) -> str:
    """One span's JSON with a %-placeholder for each value that differs between spans: filling it
    in costs a fraction of `json.dumps` for each of a 200 MB file's ~220k spans."""
    span = {"traceId": "%(trace)032x", "spanId": "%(span)016x", "name": "turn",
            "startTimeUnixNano": "%(start)d", "endTimeUnixNano": "%(end)d",
            "attributes": [{"key": "callboard.turn.text", "value": {"stringValue": "I would like to book " * 40}},
                           {"key": "session.id", "value": {"stringValue": "call-%(call)d"}}]}
    return json.dumps(span, indent=2 if pretty else None)


def _span_text(k: int, pretty: bool) -> str:
    return _span_pattern(pretty) % {"trace": k // 20 + 1, "span": k + 1, "start": NS + k, "end": NS + k + 1_000_000,
                                    "call": k // 20}


def _write_large(path: Path, target_bytes: int) -> int:
    """A file of about `target_bytes`: one pretty-printed JSON document (one resource, one scope,
    every span), or one protobuf request holding the same; returns its spans."""
    if path.suffix == ".json":
        one = len(_span_text(0, True)) + 2
        count = target_bytes // one
        with path.open("w") as out:
            out.write('{\n  "resourceSpans": [{\n    "resource": {"attributes": [{"key": "service.name", '
                      '"value": {"stringValue": "salon"}}]},\n    "scopeSpans": [{\n      "scope": {"name": "t"},\n'
                      '      "spans": [\n')
            out.writelines(("" if k == 0 else ",\n") + _span_text(k, True) for k in range(count))
            out.write("\n      ]\n    }]\n  }]\n}\n")
        return count
    template = _request(1, 1, 1)
    span = template.resource_spans[0].scope_spans[0].spans[0]
    pair = span.attributes.add()
    pair.key, pair.value.string_value = "callboard.turn.text", "I would like to book " * 40
    one = len(span.SerializeToString()) + 3
    count = target_bytes // one
    spans = []
    for k in range(count):
        span.trace_id, span.span_id = (k // 20 + 1).to_bytes(16, "big"), (k + 1).to_bytes(8, "big")
        span.attributes[0].value.string_value = f"call-{k // 20}"
        body = span.SerializeToString()
        spans.append(b"\x12" + varint(len(body)) + body)
    scope = b"\x0a\x03\x0a\x01t" + b"".join(spans)
    resource = b"\x12" + varint(len(scope)) + scope
    path.write_bytes(b"\x0a" + varint(len(resource)) + resource)
    return count


def _peak_rss_mb(path: Path) -> tuple[float, int]:
    """Read and parse `path` as ingest does, in a fresh process: (its peak RSS in MB, spans). The peak
    is the process's own (VmHWM): `ru_maxrss` would count this test's memory, kept across exec."""
    code = ("import re, sys; from pathlib import Path; from ingest.otlp import open_scratch, parse_spans; "
            "from ingest.trace_files import detect_format, read_trace_chunks; path = Path(sys.argv[1]); "
            "scratch = open_scratch(); spans = sum(parse_spans(scratch, chunk.lines).spans.num_rows "
            "for chunk in read_trace_chunks(path, detect_format(path))); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1]) / 1024, spans)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    peak, spans = done.stdout.split()
    return float(peak), int(spans)


@pytest.mark.parametrize("suffix", [".json", ".pb"])
def test_a_200_mb_file_is_read_in_bounded_memory(suffix: str, tmp_path: Path) -> None:
    """Reading and parsing a 200 MB pretty-printed document or protobuf message takes hardly more
    memory than a 20 MB one: the peak grows by less than the 180 MB between them (18-107 MB was
    measured, the allocator varying from run to run; read whole, the bytes alone grew by all of it,
    and their parse by several times that)."""
    sizes = {20: tmp_path / f"medium{suffix}", 200: tmp_path / f"large{suffix}"}
    peaks = {}
    for megabytes, path in sizes.items():
        count = _write_large(path, megabytes * 1_000_000)
        assert abs(path.stat().st_size / 1e6 - megabytes) < megabytes / 20
        peaks[megabytes], spans = _peak_rss_mb(path)
        assert spans == count
        path.unlink()
    assert peaks[200] - peaks[20] < 180, peaks
