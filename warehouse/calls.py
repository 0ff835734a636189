"""Everything the call view shows about one call: its transcript, its spans as a waterfall, its
business outcome, its latest judgement and where its recording is.

Times inside the call are offsets in milliseconds from the call's start, computed here so the
view only draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import polars as pl

from warehouse import judgements, metrics
from warehouse.db import connect
from warehouse.tables import Tables, duckdb_tables

SLOW_SPAN_MS = 2000  # a step the caller would notice as a pause
# `call` and `turn` spans contain the others (a whole call, a whole utterance): long by nature,
# so only the working steps inside them can be slow.


@dataclass(frozen=True)
class CallDetail:
    call: dict  # the calls row (end_reason included), plus reply_p50_ms and reply_max_ms
    turns: pl.DataFrame  # turn_index, speaker, text, offset_ms, end_ms, response_latency_ms
    spans: pl.DataFrame  # one row per span with start_ms/end_ms offsets and is_slow
    outcome: dict | None  # booked, nps, resolved, escalated, deal_value_usd
    judgement: dict | None  # as warehouse.judgements.latest_judgement returns it
    conversation: dict | None  # the header's voice figures (`_conversation`); None without turns

    @property
    def recording(self) -> str | None:
        return self.call.get("recording_url") or None


_CALL = """
SELECT c.*,
       (SELECT median(t.response_latency_ms) FROM turns t WHERE t.call_id = c.call_id) AS reply_p50_ms,
       (SELECT max(t.response_latency_ms) FROM turns t WHERE t.call_id = c.call_id) AS reply_max_ms
FROM calls c WHERE c.call_id = ?"""

_TURNS = """
SELECT t.turn_index, t.speaker, t.text, t.response_latency_ms,
       epoch_ms(t.started_at) - epoch_ms(c.started_at) AS offset_ms,
       epoch_ms(t.ended_at) - epoch_ms(c.started_at) AS end_ms
FROM turns t JOIN calls c USING (call_id)
WHERE t.call_id = ? ORDER BY t.turn_index"""

_SPANS = """
SELECT s.span_id, s.parent_span_id, s.name, s.kind, s.turn_index, s.provider, s.model, s.tool_name,
       s.input_tokens, s.output_tokens, s.cost_usd, s.is_error, s.error_type,
       epoch_ms(s.started_at) - epoch_ms(c.started_at) AS start_ms,
       epoch_ms(s.ended_at) - epoch_ms(c.started_at) AS end_ms,
       coalesce(s.duration_ms, epoch_ms(s.ended_at) - epoch_ms(s.started_at)) AS duration_ms,
       s.kind NOT IN ('call', 'turn')
         AND coalesce(s.duration_ms, epoch_ms(s.ended_at) - epoch_ms(s.started_at)) > ? AS is_slow
FROM spans s JOIN calls c USING (call_id)
WHERE s.call_id = ? ORDER BY s.started_at, s.span_id"""


def call_detail(call_id: str, path: Path | None = None) -> CallDetail | None:
    """One call as the call view shows it; None when the warehouse has no such call."""
    with connect(path) as con:
        rows = con.sql(_CALL, params=[call_id]).pl()
        if rows.is_empty():
            return None
        turns = con.sql(_TURNS, params=[call_id]).pl()
        spans = con.sql(_SPANS, params=[SLOW_SPAN_MS, call_id]).pl()
        tables = duckdb_tables(con)
        outcomes = metrics.outcome_per_call(tables)
        outcome = outcomes.filter(outcomes.call_id == call_id).to_polars().to_dicts()
        call = rows.row(0, named=True)
        conversation = _conversation(tables, call)
    return CallDetail(
        call=call,
        turns=turns,
        spans=spans,
        outcome=outcome[0] if outcome else None,
        judgement=judgements.latest_judgement(call_id, path=path),
        conversation=conversation,
    )


@dataclass(frozen=True)
class TimingMark:
    """A stretch of the call worth seeing on the recording's timeline."""

    kind: str  # wait (caller waits for the agent), dead_air (silence over the dead-air threshold), interruption
    start_ms: int
    end_ms: int
    speaker: str  # who speaks after the silence, or who starts talking over the other


def timing_marks(turns: pl.DataFrame, dead_air_ms: int | None = None) -> list[TimingMark]:
    """The call's silences and overlaps from its turn times (offset_ms, end_ms, speaker): the wait
    before each agent reply, any silence of `dead_air_ms` or more (dead air, the wait included when
    it is that long; by default the dead-air metric's threshold, so the player and the metric agree),
    and every turn that starts before the other speaker has finished."""
    if dead_air_ms is None:
        dead_air_ms = metrics.dead_air_threshold_ms()
    marks: list[TimingMark] = []
    heard_until, last_speaker = None, None
    for turn in turns.sort("offset_ms").iter_rows(named=True):
        start, end, speaker = turn["offset_ms"], turn["end_ms"], turn["speaker"]
        if heard_until is not None and start < heard_until and speaker != last_speaker:
            marks.append(TimingMark("interruption", start, min(heard_until, end), speaker))
        elif heard_until is not None and start > heard_until:
            silence = start - heard_until
            if silence >= dead_air_ms:
                marks.append(TimingMark("dead_air", heard_until, start, speaker))
            elif speaker == "agent" and last_speaker != "agent":
                marks.append(TimingMark("wait", heard_until, start, speaker))
        if heard_until is None or end >= heard_until:
            heard_until, last_speaker = end, speaker
    return marks


def _conversation(t: Tables, call: dict) -> dict | None:
    """The call view's header figures for one call (its row from `_CALL`), from the same
    definitions as the overview's (`metrics.conversation_per_call`): interruptions each way,
    dead-air count, the agent's talk share, the duration, the time to the agent's first word and
    the caller's typical and longest wait. None when the call has no turns."""
    turns = t.turns.filter(t.turns.call_id == call["call_id"])
    rows = metrics.conversation_per_call(turns, metrics.dead_air_threshold_ms()).to_polars().to_dicts()
    if not rows:
        return None
    row, started_ms = rows[0], call["started_at"].replace(tzinfo=UTC).timestamp() * 1000
    return {
        "caller_barge_ins": row["caller_barge_ins"],
        "agent_talk_overs": row["agent_talk_overs"],
        "dead_air": row["dead_air"],
        "talk_ratio": row["agent_speech_s"] / row["speech_s"] if row["speech_s"] else None,
        "duration_ms": call["duration_ms"],
        "first_agent_word_ms": (row["first_agent_word_ms"] - started_ms
                                if row["first_agent_word_ms"] is not None else None),
        "wait_p50_ms": call["reply_p50_ms"],
        "wait_max_ms": call["reply_max_ms"],
    }
