"""One trace is one call whatever order its spans arrive in: the real OpenTelemetry SDK with a
`BatchSpanProcessor` exports a call's child spans before its root (the span carrying `session.id`
and the agent), and each export lands in its own file, or its own chunk of one file."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ingest import lines, receiver, traces
from ingest.otlp_protobuf import request_to_json
from ingest.outcomes import ingest_outcomes
from ingest.traces import ingest_traces
from warehouse.db import connect
from warehouse.reviews import Review, call_history, save_review

OUTCOMES = Path(__file__).parent / "fixtures" / "outcomes"
TURNS = [("agent", "Hello, Riverside Clinic."), ("customer", "A check-up on Friday, please.")]


class RequestExporter(SpanExporter):
    """Keeps each export the SDK makes as the OTLP/JSON line an exporter would have sent."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.requests.append(request_to_json(encode_spans(spans)).decode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def take(self) -> list[str]:
        sent, self.requests = self.requests, []
        return sent


def trace_calls(call_ids: list[str], exporter: SpanExporter, children_sent: Callable[[], None]) -> dict[str, str]:
    """Calls traced by the SDK as a live voice agent traces them: each call's root span (carrying
    `session.id`, the agent, the prompt version) stays open while its turns and LLM calls end and
    are exported; `children_sent` runs once they have been, then the roots end and are exported.
    Returns each call's trace id."""
    provider = TracerProvider(resource=Resource.create({"service.name": "voice-gateway"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=3))
    tracer = provider.get_tracer("voice")
    roots = {call_id: tracer.start_span("call", attributes={
        "session.id": call_id, "callboard.agent": "front-desk", "callboard.prompt.version": "v3"})
        for call_id in call_ids}
    for root in roots.values():
        context = trace.set_span_in_context(root)
        for index, (speaker, text) in enumerate(TURNS):
            tracer.start_span("turn", context=context, attributes={
                "callboard.turn.index": index, "callboard.turn.speaker": speaker, "callboard.turn.text": text}).end()
        tracer.start_span("chat", context=context, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4.1-mini",
            "gen_ai.usage.input_tokens": 40, "gen_ai.usage.output_tokens": 9}).end()
    assert provider.force_flush(30_000)
    children_sent()
    for root in roots.values():
        root.end()
    provider.shutdown()
    return {call_id: format(root.get_span_context().trace_id, "032x") for call_id, root in roots.items()}


def record_calls(call_ids: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """The exports of `trace_calls`: those of the child spans, those of the roots, the trace ids."""
    exporter = RequestExporter()
    children: list[str] = []
    trace_ids = trace_calls(call_ids, exporter, lambda: children.extend(exporter.take()))
    return children, exporter.take(), trace_ids


def rows(db: Path, sql: str) -> list[tuple]:
    with connect(db) as con:  # waits while a receiver's loader holds the file
        return con.execute(sql).fetchall()


def write(path: Path, requests: list[str]) -> Path:
    path.write_text("".join(f"{request}\n" for request in requests))
    return path


def assert_assembled(db: Path, call_ids: list[str]) -> None:
    """Every call whole under its session id: nothing left under a trace id."""
    calls = rows(db, "SELECT call_id, agent, prompt_version, model, span_count, turn_count, input_tokens FROM calls "
                 "ORDER BY call_id")
    assert calls == [(call_id, "front-desk", "v3", "gpt-4.1-mini", 4, 2, 40) for call_id in sorted(call_ids)]
    assert rows(db, "SELECT DISTINCT call_id FROM spans ORDER BY 1") == [(c,) for c in sorted(call_ids)]
    assert rows(db, "SELECT call_id, list(text ORDER BY turn_index) FROM turns GROUP BY 1 ORDER BY 1") == [
        (call_id, [text for _, text in TURNS]) for call_id in sorted(call_ids)]


def test_roots_exported_last_in_their_own_files_join_their_children(tmp_path: Path, warehouse_file: Path) -> None:
    call_ids = ["live-1", "live-2", "live-3", "live-4", "live-5"]
    children, roots, _ = record_calls(call_ids)
    assert len(children) > 1 and roots  # the SDK did send the children first, in several exports
    for number, request in enumerate([*children, *roots]):
        ingest_traces([write(tmp_path / f"export-{number:03}.jsonl", [request])], db_path=warehouse_file)
    assert_assembled(warehouse_file, call_ids)


@pytest.mark.parametrize("order", ["roots last", "roots first", "roots between"])
def test_one_file_cut_into_many_chunks_and_merges_gives_whole_calls(
        order: str, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "CHUNK_BYTES", 2048)  # each export its own chunk
    monkeypatch.setattr(traces, "MERGE_SPANS", 1)  # each chunk its own transaction
    call_ids = [f"live-{n}" for n in range(6)]
    children, roots, _ = record_calls(call_ids)
    half = len(children) // 2
    requests = {"roots last": [*children, *roots], "roots first": [*roots, *children],
                "roots between": [*children[:half], *roots, *children[half:]]}[order]
    summary = ingest_traces([write(tmp_path / "traces.jsonl", requests)], db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (4 * len(call_ids), 0)
    assert_assembled(warehouse_file, call_ids)


def test_what_was_joined_to_the_half_call_follows_it_to_the_whole_call(tmp_path: Path, warehouse_file: Path) -> None:
    call_ids = ["live-a", "live-b"]
    children, roots, trace_ids = record_calls(call_ids)
    ingest_traces([write(tmp_path / "children.jsonl", children)], db_path=warehouse_file)
    assert sorted(rows(warehouse_file, "SELECT call_id FROM calls")) == sorted((t,) for t in trace_ids.values())
    survey = tmp_path / "survey.csv"  # joined on the trace: linked to the half call for now
    survey.write_text("Response ID,Trace,NPS,CSAT\n" + "".join(
        f"R-{n},{trace_ids[c]},{8 + n},5\n" for n, c in enumerate(call_ids)))
    crm = tmp_path / "crm.csv"  # joined on the session id: no call carries it yet
    crm.write_text("Call ID,Outcome,Deal Value,Resolution,Closed At\nlive-a,Booked,$90,Resolved,2025-10-09T09:30:00Z\n")
    ingest_outcomes(survey, OUTCOMES / "survey.toml", db_path=warehouse_file)
    ingest_outcomes(crm, OUTCOMES / "crm.toml", db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT count(*) FROM outcomes WHERE call_id IN (SELECT trace_id FROM calls)") == [(2,)]
    save_review(Review(None, trace_ids["live-b"], "Priya", 2, False, notes="reviewed early"), warehouse_file)

    ingest_traces([write(tmp_path / "roots.jsonl", roots)], db_path=warehouse_file)
    assert_assembled(warehouse_file, call_ids)
    joined = rows(warehouse_file, "SELECT o.source, o.external_key, c.call_id, c.turn_count, o.nps FROM outcomes o "
                  "JOIN calls c USING (call_id) ORDER BY 1, 3")
    assert joined == [("crm", "live-a", "live-a", 2, None),
                      ("survey", trace_ids["live-a"], "live-a", 2, 8), ("survey", trace_ids["live-b"], "live-b", 2, 9)]
    assert call_history("live-b", warehouse_file)["notes"].to_list() == ["reviewed early"]


def test_roots_sent_to_the_live_receiver_after_their_children_were_loaded(warehouse_file: Path) -> None:
    with connect(warehouse_file):
        pass  # the schema first: this test's reads and the loader's writes must not both create it
    served = receiver.start(port=0, db_path=warehouse_file, poll_s=0.05, quiet=True)
    call_ids = [f"live-{n}" for n in range(5)]

    def span_count() -> int:
        return rows(warehouse_file, "SELECT count(*) FROM spans")[0][0]

    def children_loaded() -> None:
        wait_for(lambda: span_count() == 3 * len(call_ids))
        assert len(rows(warehouse_file, "SELECT call_id FROM calls")) == len(call_ids)  # under their trace ids

    try:
        trace_calls(call_ids, OTLPSpanExporter(endpoint=served.url), children_loaded)
        wait_for(lambda: span_count() == 4 * len(call_ids))
    finally:
        served.stop()
    assert_assembled(warehouse_file, call_ids)


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
