"""Trace files that are cut short or are not OTLP at all, past the size read in one piece: every
span before the damage loads, the rest is one refused record, and nothing is neither."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pytest

from ingest import json_documents, protobuf_files
from ingest.traces import ingest_traces
from tests.test_trace_files_bounded import _json_document, _request

SPANS = 60


def _scope_of_spans(first_call: int = 0) -> bytes:
    """One request: one resource, one scope, `SPANS` spans of one call."""
    return _request(1, 1, SPANS, first_call).SerializeToString()


def _span_fields(body: bytes) -> list[tuple[int, int]]:
    """(start, end) in `body` of each span field, tag included."""
    stream = io.BytesIO(body)
    ((*_, resource, resource_end),) = [f[2:] for f in protobuf_files._fields(stream, 0, len(body))]
    ((*_, scope, scope_end),) = [f[2:] for f in protobuf_files._fields(stream, resource, resource_end) if f[0] == 2]
    return [(f[2], f[4]) for f in protobuf_files._fields(stream, scope, scope_end) if f[0] == 2]


def _quarantine(db: Path) -> list[tuple[str, str, bytes]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT location, reason, record FROM quarantine").fetchall()


@pytest.mark.parametrize("where", ["inside a span", "inside a span's header", "between two spans"])
def test_a_cut_short_message_loads_every_span_before_the_cut(
        where: str, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spans read since the last piece was sent are a piece too, and the record holds the bytes
    from the first span that could not be read; a cut between spans is said, with an empty record."""
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", 2_000)
    body = _scope_of_spans()
    spans = _span_fields(body)
    start, end = spans[39]
    cut = {"inside a span": start + (end - start) // 2, "inside a span's header": start + 1,
           "between two spans": start}[where]
    path = tmp_path / "traces.pb"
    path.write_bytes(body[:cut])
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (39, 1)
    ((location, reason, record),) = _quarantine(warehouse_file)
    assert location == "line 1" and reason == protobuf_files.DAMAGED
    assert bytes(record) == body[start:cut]


@pytest.mark.parametrize("piece_bytes", [2_000, 100_000])
def test_a_length_prefixed_file_whose_last_message_is_cut_short_loads_the_others(
        piece_bytes: int, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the Collector's file exporter leaves a file when it stops while writing: the whole messages
    load, and the last one up to the cut, whether or not it is larger than a piece."""
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", piece_bytes)
    bodies = [_scope_of_spans(first_call) for first_call in range(3)]
    framed = b"".join(len(body).to_bytes(4, "big") + body for body in bodies)
    path = tmp_path / "traces.pb"
    kept = len(bodies[2]) * 2 // 3  # of the last message
    path.write_bytes(framed[: len(framed) - len(bodies[2]) + kept])
    summary = ingest_traces([path], db_path=warehouse_file)
    whole = [end for _, end in _span_fields(bodies[2]) if end <= kept]
    assert (summary.loaded, summary.quarantined) == (2 * SPANS + len(whole), 1)
    assert _quarantine(warehouse_file) == [("line 3", protobuf_files.DAMAGED, bodies[2][whole[-1]:kept])]


def test_a_length_prefixed_file_cut_inside_a_length_loads_the_messages_before_it(
        tmp_path: Path, warehouse_file: Path) -> None:
    bodies = [_scope_of_spans(first_call) for first_call in range(3)]
    framed = b"".join(len(body).to_bytes(4, "big") + body for body in bodies)
    path = tmp_path / "traces.pb"
    path.write_bytes(framed[: len(framed) - len(bodies[2]) - 2])
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (2 * SPANS, 1)
    assert _quarantine(warehouse_file) == [("line 3", protobuf_files.DAMAGED, len(bodies[2]).to_bytes(4, "big")[:2])]


@pytest.mark.parametrize("key", ["data", "resourceSpans"])
def test_a_large_json_document_without_resource_spans_is_refused_as_a_small_one_is(
        key: str, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `resourceSpans`, or one that is not a list."""
    monkeypatch.setattr(json_documents, "PIECE_BYTES", 3_000)
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({key: {str(n): {"traceId": "1" * 32, "n": n} for n in range(200)}}, indent=2))
    assert path.stat().st_size > 3 * json_documents.PIECE_BYTES
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (1, 0, 1)
    ((location, reason, record),) = _quarantine(warehouse_file)
    assert location == "line 1" and '"resourceSpans"' in reason
    assert bytes(record) == path.read_bytes()[: json_documents.PIECE_BYTES]


def _write_cut(tmp_path: Path, text: str, cut: int) -> Path:
    path = tmp_path / "traces.json"
    path.write_text(text[:cut])
    return path


def test_a_json_document_cut_between_two_scopes_loads_the_scopes_before(
        tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third resource has four scopes (calls 3 to 6); the cut comes before the third of them."""
    monkeypatch.setattr(json_documents, "PIECE_BYTES", 3_000)
    text = json.dumps(_json_document(False), indent=2)
    cut = text.rindex("{", 0, text.rindex('"scope"', 0, text.index('"call-5"')))
    summary = ingest_traces([_write_cut(tmp_path, text, cut)], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (3 + 3 + 2 * 3, 1)
    ((location, reason, record),) = _quarantine(warehouse_file)
    assert (location, reason) == ("line 1", json_documents.BROKEN) and bytes(record).decode() in text


def test_a_json_document_cut_before_a_resource_written_after_its_scopes_keeps_none_of_its_spans(
        tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fourth resource's 70 spans come before its `resource` (its service, so the calls' agent):
    cut inside them, none loads without it; the record starts with the resource."""
    monkeypatch.setattr(json_documents, "PIECE_BYTES", 3_000)
    text = json.dumps(_json_document(True), indent=2)
    cut = text.index(f'"spanId": "{7 * 1000 + 49:016x}"')
    summary = ingest_traces([_write_cut(tmp_path, text, cut)], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (3 + 3 + 4 * 3, 1)
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        calls = con.execute("SELECT call_id, agent FROM calls ORDER BY call_id").fetchall()
    assert calls == [(f"call-{c}", f"agent-{a}") for c, a in zip(range(1, 7), [0, 1, 2, 2, 2, 2], strict=True)]
    ((_, _, record),) = _quarantine(warehouse_file)
    assert bytes(record).decode().startswith('{\n      "scopeSpans"')
