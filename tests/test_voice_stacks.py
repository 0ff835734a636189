"""What voice stacks export, with their own names, lands in the same calls, transcript, stages,
cost and interruptions as Callboard's own attributes.

The fixtures (tests/fixtures/voice_stacks/*.jsonl) are written by the scripts beside them from
one plan of calls (plan.py). Here the expected figures are worked out from that plan by the rules
docs/trace-format.md gives per stack, and compared with what ingest made of the files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from ingest import otlp, receiver
from ingest.traces import ingest_traces
from tests.fixtures.voice_stacks import make_livekit, make_openinference, make_pipecat, plan
from tests.fixtures.voice_stacks.plan import CALLS, Call, Reply
from tests.test_ingest_receiver import post, rows, wait_for
from warehouse import calls, metrics, trace_mapping
from warehouse.db import connect
from warehouse.drift import measures
from warehouse.filters import Filters
from warehouse.tables import duckdb_tables

# List prices of the fixture's models (warehouse/migrations/0002_seed_taxonomy_and_prices.sql).
LLM_USD_PER_MTOK = (0.40, 1.60)  # gpt-4.1-mini
STT_USD_PER_MINUTE = 0.0077  # deepgram nova-3
TTS_USD_PER_KCHAR = 0.05  # elevenlabs eleven_flash_v2_5
PERIOD = Filters(date(2026, 1, 1), date(2026, 1, 1))


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    start_ms: int  # from the fixture's start (plan.START_NS)
    end_ms: int


@dataclass(frozen=True)
class Expected:
    """One call as Callboard should show it."""

    call_id: str
    agent: str
    turns: list[Turn]
    waits: list[int]  # each agent reply's response latency, in order
    stages: list[tuple[int, int, int, int]]  # end of turn, speech-to-text, model, speech synthesis per reply
    barge_ins: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    recording: str | None


def _llm_cost(reply: Reply) -> float:
    return (reply.tokens[0] * LLM_USD_PER_MTOK[0] + reply.tokens[1] * LLM_USD_PER_MTOK[1]) / 1e6


def pipecat_expected(call: Call) -> Expected:
    """Pipecat's rules: the caller speaks from the `stt` span's start until its end less its
    `metrics.ttfb`; the agent from the caller's last word plus the turn's
    `turn.user_bot_latency_seconds` (the greeting: the `tts` span's start plus its `metrics.ttfb`)
    until the `tts` span ends, or the turn does when `turn.was_interrupted`. Stages: speech-to-text
    ends with the `stt` span, the model at the `llm` span's first token."""
    base, turns = make_pipecat.offset(call), []
    for index, reply in enumerate(call.replies):
        if reply.caller:
            turns.append(Turn("customer", reply.caller, base + reply.speech_start, base + reply.speech_end))
        start = reply.heard if reply.caller else reply.tts_start + reply.tts_ttfb_ms
        end = reply.synthesis_end
        if reply.cut_after_ms is not None:
            end = max(end, make_pipecat.turn_bounds(call, index)[1])
        turns.append(Turn("agent", reply.agent, base + start, base + end))
    replies = [r for r in call.replies if r.caller]
    return Expected(
        call_id=make_pipecat.call_id(call), agent=call.agent, turns=turns,
        waits=[r.wait_ms for r in replies],
        stages=[(0, r.stt_ms, r.first_token - (r.speech_end + r.stt_ms), r.heard - r.first_token) for r in replies],
        barge_ins=sum(r.cut_after_ms is not None for r in call.replies),
        input_tokens=sum(r.tokens[0] for r in call.replies), output_tokens=sum(r.tokens[1] for r in call.replies),
        cost_usd=sum(_llm_cost(r) + len(r.agent) / 1000 * TTS_USD_PER_KCHAR for r in call.replies)
        + sum(r.speech_ms / 1000 / 60 * STT_USD_PER_MINUTE for r in replies),
        recording=call.recording,
    )


def openinference_expected(call: Call) -> Expected:
    """OpenInference's rules: the caller speaks from the `pipecat.stt` span's start (VAD's
    confirmation) until `conversation.user_to_bot_latency` before the agent; the agent from the
    `pipecat.tts` span's start plus its `service.ttfb_seconds` until that span ends with the turn.
    Stages: speech-to-text ends with the `pipecat.stt` span (when the LLM starts), the model at the
    `pipecat.llm` span's first token."""
    base, turns = make_openinference.offset(call), []
    for reply in call.replies:
        heard = reply.tts_start + reply.tts_ttfb_ms
        if reply.caller:
            turns.append(Turn("customer", reply.caller, base + reply.speech_start + plan.VAD_START_MS,
                              base + heard - reply.wait_ms))
        turns.append(Turn("agent", reply.agent, base + heard, base + make_openinference.turn_bounds(reply)[1]))
    replies = [r for r in call.replies if r.caller]
    stt_seconds = [(r.llm_start - make_openinference.turn_bounds(r)[0]) / 1000 for r in replies]
    return Expected(
        call_id=make_openinference.call_id(call), agent=call.agent, turns=turns,
        waits=[r.wait_ms for r in replies],
        stages=[(0, r.llm_start - (r.tts_start + r.tts_ttfb_ms - r.wait_ms), r.ttft_ms,
                 r.tts_start + r.tts_ttfb_ms - r.first_token) for r in replies],
        barge_ins=0,
        input_tokens=sum(r.tokens[0] for r in call.replies), output_tokens=sum(r.tokens[1] for r in call.replies),
        cost_usd=sum(_llm_cost(r) + len(r.agent) / 1000 * TTS_USD_PER_KCHAR for r in call.replies)
        + sum(seconds / 60 * STT_USD_PER_MINUTE for seconds in stt_seconds),
        recording=call.recording,
    )


def livekit_expected(call: Call) -> Expected:
    """LiveKit's rules: the caller speaks from the `user_turn` span's start until its end less
    `lk.end_of_turn_delay`; the agent `lk.e2e_latency` after that (which is when `agent_speaking`
    starts) until `agent_speaking` ends, its words the reply text of the `agent_turn` around it.
    Stages, from the plan: LiveKit has the final transcript `stt_ms` after the caller's last word
    (`lk.transcription_delay`) and decides the turn has ended `eot_ms` after it
    (`lk.end_of_turn_delay`), so speech-to-text comes first and end of turn is the rest; the model
    is the LLM's time to its first token (`lk.response.ttft`, the LLM starting as the turn ends);
    speech synthesis is the sentence's aggregation, the TTS's first audio byte (`lk.response.ttfb`)
    and the transport to the caller. Only the LLM's usage is on a span as plain attributes, so the
    cost is the LLM's."""
    base, turns = make_livekit.offset(call), []
    for reply in call.replies:
        if reply.caller:
            turns.append(Turn("customer", reply.caller, base + reply.speech_start, base + reply.speech_end))
        turns.append(Turn("agent", reply.agent, base + reply.heard, base + reply.agent_end))
    replies = [r for r in call.replies if r.caller]
    return Expected(
        call_id=make_livekit.call_id(call), agent=call.agent, turns=turns, waits=[r.wait_ms for r in replies],
        stages=[(r.eot_ms - r.stt_ms, r.stt_ms, r.ttft_ms, plan.AGGREGATION_MS + r.tts_ttfb_ms + plan.TRANSPORT_MS)
                for r in replies],
        barge_ins=sum(r.cut_after_ms is not None for r in call.replies),
        input_tokens=sum(r.tokens[0] for r in call.replies), output_tokens=sum(r.tokens[1] for r in call.replies),
        cost_usd=sum(map(_llm_cost, call.replies)), recording=call.recording,
    )


@dataclass(frozen=True)
class Source:
    fixture: Path
    expected: Callable[[Call], Expected]
    unknown: tuple[str, str, object]  # a span name, an attribute no mapping reads, its value
    kinds: frozenset[str]  # the working steps its call view shows
    calls: tuple[Call, ...] = tuple(CALLS)  # the plan's calls as its generator scripted them


SOURCES = {
    "pipecat": Source(make_pipecat.FIXTURE, pipecat_expected, ("conversation", "customer.tier", "gold"),
                      frozenset({"stt", "llm", "tts"})),
    "openinference": Source(make_openinference.FIXTURE, openinference_expected,
                            ("pipecat.conversation.turn", "customer.tier", "gold"), frozenset({"stt", "llm", "tts"}),
                            tuple(make_openinference.CALLS)),
    "livekit": Source(make_livekit.FIXTURE, livekit_expected, ("user_turn", "lk.transcript_confidence", 0.97),
                      frozenset({"eot", "llm", "tts"})),
}


def _ms(ts) -> int:
    """A stored timestamp as ms from the fixture's start."""
    return round((ts.timestamp() * 1e9 - plan.START_NS) / 1e6)


def check_calls(db: Path, source: Source) -> None:
    """Every call of the plan, as the warehouse and the call view hold it, against `source`'s rules."""
    expected = {e.call_id: e for e in map(source.expected, source.calls)}
    with connect(db) as con:
        stored = {row[0]: row[1:] for row in con.execute(
            "SELECT call_id, agent, turn_count, input_tokens, output_tokens, cost_usd, recording_url FROM calls"
        ).fetchall()}
        t = duckdb_tables(con)
        stages = metrics.wait_stages(t, PERIOD).order_by(["call_id", "turn_index"]).to_polars()
        conversation = metrics.conversation_per_call(t.turns, metrics.dead_air_threshold_ms()).to_polars()
    assert set(stored) == set(expected)
    for call_id, want in expected.items():
        agent, turn_count, input_tokens, output_tokens, cost, recording = stored[call_id]
        assert (agent, turn_count, input_tokens, output_tokens, recording) == (
            want.agent, len(want.turns), want.input_tokens, want.output_tokens, want.recording)
        assert cost == pytest.approx(want.cost_usd, rel=1e-9)
        detail = calls.call_detail(call_id, db)
        assert detail is not None and detail.recording == want.recording
        turns = [Turn(speaker, text, _ms(start), _ms(end)) for speaker, text, start, end in _stored_turns(db, call_id)]
        assert turns == want.turns
        assert detail.turns["text"].to_list() == [turn.text for turn in want.turns]
        latencies = [v for v in detail.turns["response_latency_ms"].to_list() if v is not None]
        assert latencies == want.waits
        assert source.kinds <= set(detail.spans["kind"].to_list())
        mine = stages.filter(stages["call_id"] == call_id)
        assert list(zip(mine["end_of_turn"], mine["speech_to_text"], mine["model"], mine["speech_synthesis"],
                        strict=True)) == want.stages
        assert [sum(stage) for stage in want.stages] == want.waits  # the stages add up to the wait
        row = conversation.filter(conversation["call_id"] == call_id).to_dicts()[0]
        assert (row["caller_barge_ins"], row["agent_talk_overs"]) == (want.barge_ins, 0)


def _stored_turns(db: Path, call_id: str) -> list[tuple]:
    with connect(db) as con:
        return con.execute("SELECT speaker, text, started_at, ended_at FROM turns WHERE call_id = ? "
                           "ORDER BY turn_index", [call_id]).fetchall()


def check_unknown_attribute_kept(db: Path, source: Source) -> None:
    name, key, value = source.unknown
    with connect(db) as con:
        kept = con.execute("SELECT json_extract(attributes, ?) FROM spans WHERE name = ? AND attributes ->> ? "
                           "IS NOT NULL", [f'$."{key}"', name, f'$."{key}"']).fetchall()
    assert {json.loads(found) for found, in kept} == {value}


@pytest.mark.parametrize("name", SOURCES)
def test_a_stacks_file_loads_into_the_same_calls(name: str, warehouse_file: Path) -> None:
    source = SOURCES[name]
    summary = ingest_traces([source.fixture], db_path=warehouse_file)
    assert summary.quarantined == 0
    check_calls(warehouse_file, source)
    check_unknown_attribute_kept(warehouse_file, source)


MIDNIGHT_SHIFT_NS = 9 * 10**9  # Pipecat's calls 9 s earlier: its first call's last reply comes after midnight


def test_a_call_over_midnight_keeps_its_spans_after_midnight(warehouse_file: Path, tmp_path: Path) -> None:
    """The reads narrow spans to the period's days (a span's day is its call's first day), so a call
    that runs past midnight still has every step and every stage of its wait: the same as read
    from all its spans."""
    moved = tmp_path / "pipecat.jsonl"
    moved.write_text(re.sub(r'"(start|end)TimeUnixNano":"(\d+)"',
                            lambda m: f'"{m[1]}TimeUnixNano":"{int(m[2]) - MIDNIGHT_SHIFT_NS}"',
                            make_pipecat.FIXTURE.read_text()))
    ingest_traces([moved], db_path=warehouse_file)
    first = SOURCES["pipecat"].calls[0]
    call_id = make_pipecat.call_id(first)
    eve = Filters(date(2025, 12, 31), date(2025, 12, 31))
    with connect(warehouse_file) as con:
        after_midnight, all_steps = con.execute(
            "SELECT count(*) FILTER (WHERE started_at >= '2026-01-01'), count(*) FILTER (WHERE kind IN "
            "('stt', 'llm', 'tool', 'tts')) FROM spans WHERE call_id = ?", [call_id]).fetchone()
        t = duckdb_tables(con)
        stages = metrics.wait_stages(t, eve).order_by("turn_index").to_polars()
        steps = measures.steps(t, eve, eve.start, eve.end).to_polars()
    assert after_midnight >= 3  # the last reply's speech-to-text, model and speech synthesis
    assert stages["call_id"].unique().to_list() == [call_id]
    assert list(zip(stages["end_of_turn"], stages["speech_to_text"], stages["model"], stages["speech_synthesis"],
                    strict=True)) == pipecat_expected(first).stages
    assert steps["call_id"].to_list() == [call_id] * all_steps


@pytest.fixture
def served(warehouse_file: Path) -> Iterator[str]:
    with connect(warehouse_file):
        pass  # the schema first
    served = receiver.start(port=0, db_path=warehouse_file, poll_s=0.1, quiet=True)
    yield served.url
    served.stop()


@pytest.mark.parametrize("name", SOURCES)
def test_a_stack_exporting_to_the_receiver_gives_the_same_calls(name: str, served: str, warehouse_file: Path) -> None:
    source = SOURCES[name]
    lines = source.fixture.read_text().splitlines()
    for line in lines:
        assert post(served, line.encode(), "application/json")[0] == 200
    spans = sum(len(s["spans"]) for line in lines for r in json.loads(line)["resourceSpans"] for s in r["scopeSpans"])
    wait_for(lambda: rows(warehouse_file, "SELECT count(*) FROM spans") == [(spans,)])
    check_calls(warehouse_file, source)


def test_each_stacks_audio_tokens_land_in_one_column() -> None:
    """Pipecat and LiveKit name a realtime model's audio tokens differently; the mapping table
    reads both into `input_audio_tokens` and `output_audio_tokens`."""
    def span(name: str, **attributes: int) -> str:
        values = [{"key": k, "value": {"intValue": str(v)}} for k, v in attributes.items()]
        return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "0" * 31 + "1", "spanId": "0" * 15 + "1", "name": name, "startTimeUnixNano": str(plan.START_NS),
            "endTimeUnixNano": str(plan.START_NS + 10**9), "attributes": values}]}]}]})
    pipecat = {"gen_ai.usage.audio.input_tokens": 310, "gen_ai.usage.audio.output_tokens": 95}
    livekit = {"gen_ai.usage.input_audio_tokens": 310, "gen_ai.usage.output_audio_tokens": 95}
    docs = [span("llm_response", **pipecat), span("realtime_metrics", **livekit)]
    parsed = otlp.parse_spans(otlp.open_scratch(), pa.table({"line": [1, 2], "doc": docs})).spans
    assert parsed.select(["input_audio_tokens", "output_audio_tokens"]).to_pylist() == [
        {"input_audio_tokens": 310, "output_audio_tokens": 95}] * 2


DOC = Path(__file__).resolve().parent.parent / "docs" / "trace-format.md"
STACKS = (trace_mapping.CALLBOARD, trace_mapping.GENAI, trace_mapping.OPENINFERENCE, trace_mapping.PIPECAT,
          trace_mapping.LIVEKIT, trace_mapping.LIVEKIT_OLD)


def mapping_tables() -> str:
    """warehouse/trace_mapping.py as docs/trace-format.md prints it."""
    def names(attributes, scopes=None) -> list[str]:
        def name(i: int, a: trace_mapping.Attribute) -> str:
            return f"`{a.key}`" + (f" ×{a.scale:g}" if a.scale != 1 else "") + (f" ({scopes[i]})" if scopes else "")
        return [" ".join(name(i, a) for i, a in enumerate(attributes) if a.source == stack) for stack in STACKS]

    lines = ["| Callboard reads | " + " | ".join(STACKS) + " |", "|---" * (len(STACKS) + 1) + "|"]
    for field, (_, attributes) in trace_mapping.SPAN_FIELDS.items():
        lines.append(f"| `{field}` | " + " | ".join(names(attributes)) + " |")
    scopes, agent = zip(*trace_mapping.AGENT, strict=True)
    lines.append("| `agent` | " + " | ".join(names(agent, scopes)) + " |")
    lines += ["", "| kind | span names (any case) |", "|---|---|"]
    for kind, spans in trace_mapping.SPAN_KINDS.items():
        lines.append(f"| `{kind}` | " + ", ".join(f"`{name}` ({stack})" for name, stack in spans) + " |")
    lines += ["", "| speech span | stack | speaker | words | speech starts after the span by | "
              "speech ends before the span by |", "|---|---|---|---|---|---|"]
    for u in trace_mapping.UTTERANCES:
        words = ", ".join(f"`{k}`" for k in u.text) or "the parent's `reply_text`"
        lines.append(f"| `{u.span_name}` | {u.source} | {u.speaker} | {words} | "
                     f"{f'`{u.starts_after}` s' if u.starts_after else '0'} | "
                     f"{f'`{u.ends_before}` s' if u.ends_before else '0'} |")
    return "\n".join(lines)


def test_the_docs_print_the_mapping_table() -> None:
    """docs/trace-format.md's tables are warehouse/trace_mapping.py's, so they cannot drift."""
    doc = DOC.read_text()
    begin, end = "<!-- mapping table: begin -->\n", "\n<!-- mapping table: end -->"
    printed = doc[doc.index(begin) + len(begin):doc.index(end)]
    assert printed == mapping_tables(), "paste tests.test_voice_stacks.mapping_tables() into the doc"


def test_a_span_named_like_speech_without_words_leaves_the_transcript_to_the_llm(
        warehouse_file: Path, tmp_path: Path) -> None:
    """A plain `stt` span (no Pipecat transcript) is not someone speaking: the call's transcript
    still comes from its LLM span's input and output."""
    def span(span_id: str, name: str, start_s: int, attributes: dict[str, str]) -> dict:
        return {"traceId": "ab" * 16, "spanId": span_id, "name": name,
                "startTimeUnixNano": str(plan.START_NS + start_s * 10**9),
                "endTimeUnixNano": str(plan.START_NS + (start_s + 1) * 10**9),
                "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]}
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [
        span("00000000000000a1", "stt", 0, {"gen_ai.request.model": "nova-3"}),
        span("00000000000000a2", "chat", 1, {"gen_ai.operation.name": "chat", "input.value": "Open on Sunday?",
                                            "output.value": "Yes, ten to four."})]}]}]}
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps(export) + "\n")
    ingest_traces([path], db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT speaker, text FROM turns ORDER BY turn_index") == [
        ("customer", "Open on Sunday?"), ("agent", "Yes, ten to four.")]


def test_a_real_pipecat_runs_spans_give_its_transcript_and_its_own_wait(warehouse_file: Path) -> None:
    """pipecat_real.jsonl is what Pipecat's own tracing wrote in a real (offline) run
    (run_pipecat.py): the caller's words and the agent's reply, and the caller's wait is the one
    Pipecat measured (`turn.user_bot_latency_seconds`), read here straight from the file."""
    fixture = make_pipecat.FIXTURE.with_name("pipecat_real.jsonl")
    spans = {span["name"]: span for r in json.loads(fixture.read_text())["resourceSpans"]
             for s in r["scopeSpans"] for span in s["spans"]}
    attributes = {name: {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                  for name, span in spans.items()}
    assert ingest_traces([fixture], db_path=warehouse_file).quarantined == 0
    latency_ms = attributes["turn"]["turn.user_bot_latency_seconds"] * 1000
    turns = rows(warehouse_file, "SELECT speaker, text, response_latency_ms, epoch_ns(started_at) FROM turns "
                                 "WHERE call_id = 'real-pipecat-1' ORDER BY turn_index")
    assert [turn[:2] for turn in turns] == [("customer", attributes["stt"]["transcript"]),
                                            ("agent", attributes["tts"]["text"])]
    assert turns[0][3] == int(spans["stt"]["startTimeUnixNano"]) // 1000 * 1000
    # the fake TTS reports no first-byte time, so its span's start is too early a guess for the
    # agent's first word: the wait runs from the end of the caller's `stt` span instead
    stt_end_us = int(spans["stt"]["endTimeUnixNano"]) // 1000
    assert turns[1][3] == (stt_end_us + round(latency_ms * 1000)) * 1000
    assert abs(turns[1][2] - latency_ms) <= 1  # whole ms
    assert rows(warehouse_file, "SELECT attributes ->> '$.\"customer.tier\"' FROM spans WHERE name = 'conversation'") \
        == [("gold",)]
