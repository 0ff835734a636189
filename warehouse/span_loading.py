"""Merge parsed spans into the warehouse and rebuild the calls and transcripts they touch.

Runs inside one short write transaction per chunk (docs/architecture.md, "Sharing the warehouse"),
so every statement here is on the clock of whoever waits for the file. The fact tables have no
unique index, so this module keeps their keys unique itself: a span already stored (same trace_id
and span_id) is skipped, and every call that gains a span is rebuilt from all of its spans, turns
included, so late spans land exactly as if they had come first.

The wide span rows are read once, by the insert. Everything else works on `call_spans`: one
narrow row per new span, keyed by the chunk's row number `rid`, carrying what the call and turn
rebuilds need (the transcript fields were pulled out of the attributes at parse time). Spans
stored earlier are read back only for calls that existed before, which in a bulk load is the few
calls that straddle two chunks, so the work per chunk does not grow with the warehouse (bar the
scan of stored trace ids that keeps re-loading harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from warehouse import trace_mapping
from warehouse.conversation_loading import conversation_sql
from warehouse.end_reasons import end_reason_sql
from warehouse.prices import PRICE_MATCH, PRICE_RANK, STORED_SPAN_UNPRICED

_UTTERANCE_INPUTS = ("utter_speaker", "utter_text", "utter_lead_s", "utter_trail_s", "reply_wait_s", "cut_off",
                     "reply_text")


def _utterance_columns(values: dict[str, str]) -> str:
    """The `call_spans` columns a transcript rebuild needs from a span of a stack without
    `callboard.turn.*` attributes (warehouse/trace_mapping.py, UTTERANCES): who speaks, the words,
    when speech starts and ends; and, for the span around an agent's reply, the caller's wait as
    the stack measured it, whether the caller cut the agent off and what the agent said.
    `values` gives the SQL of each of `_UTTERANCE_INPUTS`."""
    def seconds(value: str) -> str:
        return f"to_microseconds(round(coalesce({value}, 0) * 1e6)::BIGINT)"

    return (f"{values['utter_speaker']} AS utter_speaker, {values['utter_text']} AS utter_text, "
            f"started_at + {seconds(values['utter_lead_s'])} AS utter_start, "
            f"ended_at - {seconds(values['utter_trail_s'])} AS utter_end, "
            f"{values['utter_trail_s']} IS NOT NULL AS utter_timed_end, "
            f"{values['reply_wait_s']} * 1000 AS reply_wait_ms, {values['cut_off']} AS cut_off, "
            f"{values['reply_text']} AS reply_text")


# A span that carries the stack's own measure of the wait's end-of-turn or speech-to-text stage
# (`{span}` is the table's alias and a dot, or nothing).
_TIMES_LISTENING = "({span}end_of_turn_delay_ms IS NOT NULL OR {span}transcription_delay_ms IS NOT NULL)"
_STAGED_UTTERANCE = _utterance_columns({name: f"s.{name}" for name in _UTTERANCE_INPUTS})
_STORED_UTTERANCE = _utterance_columns({
    **trace_mapping.utterance(trace_mapping.stored, "name"),
    **{name: trace_mapping.field(name, trace_mapping.stored) for name in ("reply_wait_s", "cut_off", "reply_text")},
})

# The staged chunk's spans that the warehouse does not hold yet (the first of any sent twice),
# with their call id resolved (docs/trace-format.md: the span's own, the call a span of its trace
# stored earlier named, another span of its trace in this chunk, else the trace id) and their cost: from the
# span, else from the list price of its model (an exact name, else the longest priced name it
# starts with, so "gpt-4.1-mini-2025-04-14" is priced as "gpt-4.1-mini"; the span's own provider
# preferred when two providers list the same model). A trace whose spans were stored under its own
# id because the span naming its call (the root, which an SDK exports last) had not arrived is
# `rekeyed` to that call now. A span that reports usage but finds no price is `unpriced`: its cost
# is unknown (NULL), and so is its call's. Every staged span is either in `call_spans` or skipped
# (its trace is always in `chunk_traces`, and at most one price matches), so the skipped are counted
# as the rest.
_NEW_SPANS = f"""
CREATE OR REPLACE TEMP TABLE stored AS
SELECT trace_id, span_id, call_id FROM spans WHERE trace_id IN (SELECT DISTINCT trace_id FROM staged_arrow);
CREATE OR REPLACE TEMP TABLE chunk_traces AS
SELECT trace_id, coalesce(k.call_id, d.call_id, trace_id) AS trace_call_id
FROM (SELECT trace_id, min(declared_call_id) AS call_id FROM staged_arrow GROUP BY trace_id) d
LEFT JOIN (SELECT trace_id, min(call_id) FILTER (WHERE call_id <> trace_id) AS call_id FROM stored GROUP BY trace_id) k
  USING (trace_id);
CREATE OR REPLACE TEMP TABLE rekeyed AS
SELECT DISTINCT t.trace_id AS old_call_id, t.trace_call_id AS call_id
FROM chunk_traces t SEMI JOIN stored k ON k.trace_id = t.trace_id AND k.call_id = t.trace_id
WHERE t.trace_call_id <> t.trace_id;
CREATE OR REPLACE TEMP TABLE call_spans AS
WITH skipped AS (
    SELECT rid FROM staged_arrow SEMI JOIN stored USING (trace_id, span_id)
    UNION
    SELECT s.rid FROM staged_arrow s
    JOIN (SELECT trace_id, span_id, min(rid) AS first FROM staged_arrow GROUP BY ALL HAVING count(*) > 1) d
      USING (trace_id, span_id)
    WHERE s.rid > d.first
), price AS (
    SELECT m.model AS span_model, m.provider AS span_provider, p.input_usd_per_mtok,
           p.output_usd_per_mtok, p.usd_per_minute, p.usd_per_kchar
    FROM (SELECT DISTINCT model, provider FROM staged_arrow WHERE model IS NOT NULL) m
    JOIN model_prices p ON {PRICE_MATCH.format(model="m.model")}
    QUALIFY row_number() OVER (PARTITION BY m.model, m.provider
        ORDER BY {PRICE_RANK.format(provider="m.provider")}) = 1
)
SELECT *, cost_usd IS NULL AND has_usage AS unpriced FROM (
SELECT s.rid, coalesce(s.declared_call_id, t.trace_call_id) AS call_id, s.trace_id, s.span_id,
       s.kind, s.turn_index, s.started_at, s.ended_at, s.provider, s.model, s.is_error, s.input_tokens,
       s.output_tokens,
       coalesce(s.span_cost_usd,
           CASE WHEN s.input_tokens IS NOT NULL OR s.output_tokens IS NOT NULL THEN
               coalesce(s.input_tokens, 0) * p.input_usd_per_mtok / 1e6
               + coalesce(s.output_tokens, 0) * p.output_usd_per_mtok / 1e6 END,
           s.audio_seconds / 60 * p.usd_per_minute,
           s.tts_characters / 1000 * p.usd_per_kchar) AS cost_usd,
       s.input_tokens IS NOT NULL OR s.output_tokens IS NOT NULL OR s.audio_seconds IS NOT NULL
           OR s.tts_characters IS NOT NULL AS has_usage,
       CASE WHEN s.kind = 'turn' THEN s.speaker END AS speaker,
       CASE WHEN s.kind = 'turn' THEN s.turn_text END AS turn_text,
       CASE WHEN s.kind = 'llm' THEN s.input_text END AS input_text,
       CASE WHEN s.kind = 'llm' THEN s.output_text END AS output_text,
       s.agent, s.agent_rank, s.prompt_version, s.recording_url, s.end_reason, s.parent_span_id,
       {_STAGED_UTTERANCE}, {_TIMES_LISTENING.format(span="s.")} AS times_listening
FROM staged_arrow s
JOIN chunk_traces t USING (trace_id)
LEFT JOIN price p ON p.span_model = s.model AND p.span_provider IS NOT DISTINCT FROM s.provider
ANTI JOIN skipped USING (rid));
"""

# Calls that gain spans (or the spans of a trace re-keyed into them), with what they were before:
# their earliest start and their oldest update (NULL when new), and, for a call no span names an
# agent for (one from a call log), its stored agent, prompt version, recording and end reason.
_AFFECTED = """
CREATE OR REPLACE TEMP TABLE affected AS
WITH chunk_calls AS (
    SELECT call_id, min(started_at) AS first_start FROM call_spans GROUP BY call_id
), before AS (
    SELECT coalesce(r.call_id, c.call_id) AS call_id, min(c.started_at) AS old_start,
           min(c.updated_at) AS old_updated_at, bool_or(r.call_id IS NOT NULL) AS rekeyed,
           arg_min(c.agent, c.started_at) FILTER (WHERE c.agent IS NOT NULL) AS agent,
           arg_min(c.prompt_version, c.started_at) FILTER (WHERE c.prompt_version IS NOT NULL) AS prompt_version,
           arg_min(c.recording_url, c.started_at) FILTER (WHERE c.recording_url IS NOT NULL) AS recording_url,
           arg_min(c.end_reason, c.started_at) FILTER (WHERE c.end_reason IS NOT NULL) AS end_reason
    FROM calls c LEFT JOIN rekeyed r ON r.old_call_id = c.call_id
    WHERE c.call_id IN (SELECT call_id FROM chunk_calls UNION ALL SELECT call_id FROM rekeyed
                        UNION ALL SELECT old_call_id FROM rekeyed)
    GROUP BY ALL
)
SELECT call_id, least(k.first_start, b.old_start) AS call_start, b.old_start, b.old_updated_at,
       coalesce(b.rekeyed, false) AS rekeyed, b.agent, b.prompt_version, b.recording_url, b.end_reason
FROM chunk_calls k FULL JOIN before b USING (call_id)
"""

# Rows stored under a trace's id before the span naming its call arrived move to that call: its
# spans, and whatever was joined to the trace's call meanwhile (`_JOINED_TO_CALLS`: updated only
# when one of them holds such rows). Its call and transcript rows go with the old calls' in
# `_CLEAR_OLD_CALLS`; the call is rebuilt whole below.
_JOINED_TO_CALLS = ("outcomes", "judgements", "reviews", "review_samples", "complaints")
_REKEY_SPANS = """
UPDATE spans SET call_id = r.call_id FROM rekeyed r
WHERE spans.trace_id = r.old_call_id AND spans.call_id = r.old_call_id
"""
_REKEY_JOINED = ";\n".join(
    f"UPDATE {table} SET call_id = r.call_id FROM rekeyed r WHERE {table}.call_id = r.old_call_id"
    for table in _JOINED_TO_CALLS)

# What decides which of the statements below this chunk needs, in one query: how many affected
# calls existed before (and were last updated before this run), how many are re-keyed, how many
# outcomes wait for their call, and how many joined rows belong to a re-keyed trace's call.
_AFFECTED_FACTS = (
    "SELECT count(*) FILTER (WHERE old_start IS NOT NULL), count(*) FILTER (WHERE old_updated_at < ?), "
    "count(*) FILTER (WHERE rekeyed), (SELECT count(*) FROM outcomes WHERE call_id IS NULL), "
    "(SELECT count(*) FROM (" + " UNION ALL ".join(f"SELECT call_id FROM {table}" for table in _JOINED_TO_CALLS)
    + ") WHERE call_id IN (SELECT old_call_id FROM rekeyed)) FROM affected"
)

# Spans stored earlier for the calls that existed before, added to `call_spans` (with no `rid`)
# so the rebuilds see every span of every affected call; what the rebuilds read from their
# attributes (the call's agent, prompt version, recording and end reason too) is read with the
# same mapping table as at parse time (warehouse/trace_mapping.py).
# The turn index is the span's own `callboard.turn.index`: the column may hold one assigned by an
# earlier rebuild, which this rebuild assigns afresh.
_STORED_AGENT, _STORED_AGENT_RANK = trace_mapping.agent(trace_mapping.stored, trace_mapping.stored_resource)
_ADD_STORED_CALL_SPANS = f"""
INSERT INTO call_spans (call_id, trace_id, span_id, kind, turn_index, started_at, ended_at, model, is_error,
                        input_tokens, output_tokens, cost_usd, unpriced, speaker, turn_text, input_text, output_text,
                        agent, agent_rank, prompt_version, recording_url, end_reason, parent_span_id, utter_speaker,
                        utter_text, utter_start, utter_end, utter_timed_end, reply_wait_ms, cut_off,
                        reply_text, times_listening)
SELECT call_id, trace_id, span_id, kind, {trace_mapping.field("turn_index", trace_mapping.stored)}, started_at,
       ended_at, model, is_error, input_tokens, output_tokens, cost_usd, {STORED_SPAN_UNPRICED},
       CASE WHEN kind = 'turn' THEN lower({trace_mapping.field("speaker", trace_mapping.stored)}) END,
       CASE WHEN kind = 'turn' THEN {trace_mapping.field("turn_text", trace_mapping.stored)} END,
       CASE WHEN kind = 'llm' THEN input_text END, CASE WHEN kind = 'llm' THEN output_text END,
       {_STORED_AGENT}, {_STORED_AGENT_RANK},
       {trace_mapping.field("prompt_version", trace_mapping.stored, trace_mapping.stored_resource)},
       {trace_mapping.field("recording_url", trace_mapping.stored)},
       {end_reason_sql(trace_mapping.field("end_reason", trace_mapping.stored))}, parent_span_id, {_STORED_UTTERANCE},
       {_TIMES_LISTENING.format(span="")}
FROM spans WHERE call_id IN (SELECT call_id FROM affected WHERE old_start IS NOT NULL)
"""

_INSERT_SPANS = """
INSERT INTO spans
SELECT s.trace_id, s.span_id, s.parent_span_id, f.call_id, s.name, s.kind, s.turn_index,
       s.started_at, s.ended_at, a.call_start::DATE, s.duration_ms, s.provider, s.model, s.operation,
       s.tool_name, s.input_tokens, s.output_tokens, f.cost_usd, s.is_error, s.error_type, s.finish_reasons,
       s.input_text, s.output_text, s.attributes::JSON, s.first_output_ms, s.input_audio_tokens,
       s.output_audio_tokens, s.end_of_turn_delay_ms, s.transcription_delay_ms
FROM staged_arrow s JOIN call_spans f USING (rid) JOIN affected a ON a.call_id = f.call_id
"""

# Rows of calls that existed before (and of the trace-id calls re-keyed into them) go, to be
# rebuilt whole; spans stored before a late span
# moved their call's start to an earlier day (or before their call took in another) follow the call.
_CLEAR_OLD_CALLS = """
DELETE FROM turns WHERE call_id IN (SELECT call_id FROM affected WHERE old_start IS NOT NULL
                                    UNION ALL SELECT old_call_id FROM rekeyed);
DELETE FROM calls WHERE call_id IN (SELECT call_id FROM affected WHERE old_start IS NOT NULL
                                    UNION ALL SELECT old_call_id FROM rekeyed);
UPDATE spans SET day = a.call_start::DATE
FROM affected a
WHERE spans.call_id = a.call_id AND a.old_start IS NOT NULL AND (a.call_start < a.old_start OR a.rekeyed)
  AND spans.day <> a.call_start::DATE;
"""

# The transcript, from the first of these a call has: `turn` spans with `callboard.turn.*`; spans
# that are someone speaking in a stack's own names (warehouse/trace_mapping.py, UTTERANCES),
# numbered in the order spoken; else each LLM span's input (customer) and output (agent). An agent
# turn's response latency is the silence since the customer turn right before it stopped.
_REBUILD_TURNS = """
CREATE OR REPLACE TEMP TABLE turn_span_calls AS
SELECT DISTINCT call_id FROM call_spans WHERE kind = 'turn' AND speaker IS NOT NULL;
CREATE OR REPLACE TEMP TABLE uttered AS
SELECT c.call_id, c.span_id, c.utter_speaker AS speaker, trim(coalesce(c.utter_text, p.reply_text)) AS text,
       c.utter_start AS started_at,
       CASE WHEN p.cut_off AND c.utter_speaker = 'agent' THEN greatest(c.utter_end, p.ended_at)
            ELSE c.utter_end END AS ended_at,
       c.utter_timed_end AS timed_end,
       CASE WHEN c.utter_speaker = 'agent' THEN to_microseconds(round(p.reply_wait_ms * 1000)::BIGINT) END AS wait
FROM call_spans c LEFT JOIN call_spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
WHERE c.utter_speaker IS NOT NULL AND c.call_id NOT IN (SELECT call_id FROM turn_span_calls);
-- a span named like a stack's speech span but without its words (say, a plain `stt` span) is no utterance
CREATE OR REPLACE TEMP TABLE utterance_calls AS
SELECT DISTINCT call_id FROM uttered WHERE text IS NOT NULL;
CREATE OR REPLACE TEMP TABLE rebuilt_turns AS
WITH uttered_in_order AS (
    -- The stack's measured wait joins a caller's words to the agent's reply after them: from the
    -- caller's last word when the stack timed it, else back from the agent's first, unless that
    -- would put it before the caller began (the agent's start is an estimate): then from the end of
    -- the caller's span.
    SELECT call_id, turn_index, heard_at AS started_at, greatest(until, heard_at) AS ended_at, speaker, text
    FROM (SELECT call_id, (row_number() OVER w - 1)::INTEGER AS turn_index, speaker, text,
                 CASE WHEN speaker = 'agent' AND wait IS NOT NULL AND lag(speaker) OVER w = 'customer'
                           AND (lag(timed_end) OVER w OR started_at - wait < lag(started_at) OVER w)
                      THEN lag(ended_at) OVER w + wait
                      ELSE started_at END AS heard_at,
                 CASE WHEN speaker = 'customer' AND NOT timed_end AND lead(speaker) OVER w = 'agent'
                           AND lead(started_at) OVER w - lead(wait) OVER w >= started_at
                      THEN lead(started_at) OVER w - lead(wait) OVER w
                      ELSE ended_at END AS until
          FROM uttered WHERE text IS NOT NULL
          WINDOW w AS (PARTITION BY call_id ORDER BY started_at, span_id))
), spoken AS (
    SELECT call_id, turn_index, started_at, ended_at, speaker, turn_text AS text
    FROM call_spans WHERE kind = 'turn' AND call_id IN (SELECT call_id FROM turn_span_calls)
    UNION ALL
    SELECT call_id, turn_index, started_at, ended_at, speaker, text FROM uttered_in_order
    UNION ALL
    SELECT call_id, 2 * (row_number() OVER w - 1) + side, CASE side WHEN 0 THEN started_at ELSE ended_at END,
           CASE side WHEN 0 THEN started_at ELSE ended_at END,
           CASE side WHEN 0 THEN 'customer' ELSE 'agent' END, CASE side WHEN 0 THEN input_text ELSE output_text END
    FROM call_spans, (VALUES (0), (1)) AS sides(side)
    WHERE kind = 'llm'
      AND call_id NOT IN (SELECT call_id FROM turn_span_calls UNION ALL SELECT call_id FROM utterance_calls)
    WINDOW w AS (PARTITION BY call_id, side ORDER BY started_at, span_id)
), ordered AS (
    SELECT * FROM spoken
    WHERE speaker IN ('customer', 'agent') AND text IS NOT NULL AND turn_index IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY call_id, turn_index ORDER BY started_at) = 1
)
SELECT o.call_id, o.turn_index, o.speaker, o.text, o.started_at, o.ended_at, a.call_start::DATE AS day,
       CASE WHEN o.speaker = 'agent' AND lag(o.speaker) OVER w = 'customer'
            THEN datediff('millisecond', lag(o.ended_at) OVER w, o.started_at) END AS response_latency_ms
FROM ordered o JOIN affected a USING (call_id)
WINDOW w AS (PARTITION BY o.call_id ORDER BY o.turn_index);
INSERT INTO turns SELECT * FROM rebuilt_turns;
"""

# In a call whose transcript came from a stack's speech spans, each working step (end of turn,
# speech-to-text, LLM, tool, speech synthesis) without its own `callboard.turn.index`, and each
# span that times the listening stages (LiveKit's `user_turn`), belongs to the agent reply it
# leads to: the first agent turn that starts when or after the step does. That is the turn index
# `metrics.wait_stages` splits the caller's wait by.
_ASSIGN_STAGE_TURNS = """
UPDATE spans SET turn_index = t.turn_index
FROM (SELECT s.trace_id, s.span_id, t.turn_index
      FROM (SELECT * FROM call_spans WHERE (kind IN ('eot', 'stt', 'llm', 'tool', 'tts') OR times_listening)
            AND call_id IN (SELECT call_id FROM utterance_calls)) s
      ASOF LEFT JOIN (SELECT call_id, turn_index, started_at FROM rebuilt_turns WHERE speaker = 'agent') t
        ON s.call_id = t.call_id AND s.started_at <= t.started_at
      WHERE s.turn_index IS NULL) t
WHERE spans.trace_id = t.trace_id AND spans.span_id = t.span_id
  AND spans.turn_index IS DISTINCT FROM t.turn_index
"""

# A call is the sum of its spans: rebuilt whole, so a late span updates every figure. Its agent is
# the best-ranked any span names (the span's own, the resource's, the service's), its prompt
# version, recording and end reason the earliest span's, whichever chunk brought them. Its
# conversation columns come from its rebuilt turns (`conversation_loading.conversation_sql`).
_REBUILD_CALLS = """
INSERT INTO calls
WITH facts AS (
    SELECT call_id, arg_min(agent, agent_rank) FILTER (WHERE agent IS NOT NULL) AS agent,
           arg_min(prompt_version, started_at) FILTER (WHERE prompt_version IS NOT NULL) AS prompt_version,
           arg_min(recording_url, started_at) FILTER (WHERE recording_url IS NOT NULL) AS recording_url,
           arg_min(end_reason, started_at) FILTER (WHERE end_reason IS NOT NULL) AS end_reason
    FROM call_spans GROUP BY call_id
), models AS (
    SELECT call_id, arg_max(model, n) AS model
    FROM (SELECT call_id, model, count(*) + coalesce(sum(output_tokens), 0) / 1e9 AS n
          FROM call_spans WHERE kind = 'llm' AND model IS NOT NULL GROUP BY call_id, model)
    GROUP BY call_id
), turn_counts AS (
    SELECT call_id, count(*) AS n FROM rebuilt_turns GROUP BY call_id
), conversation AS (
    {conversation}
), totals AS (
    SELECT call_id, arg_min(trace_id, started_at) AS trace_id, min(started_at) AS started_at,
           max(ended_at) AS ended_at, count(*) AS span_count, count(*) FILTER (WHERE is_error) AS error_count,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           CASE WHEN NOT bool_or(unpriced) THEN sum(cost_usd) END AS cost_usd
    FROM call_spans GROUP BY call_id
)
SELECT t.call_id, t.trace_id, coalesce(f.agent, a.agent), coalesce(f.prompt_version, a.prompt_version), m.model,
       t.started_at, t.ended_at, t.started_at::DATE, datediff('millisecond', t.started_at, t.ended_at),
       coalesce(n.n, 0), t.span_count, t.error_count, t.input_tokens, t.output_tokens, t.cost_usd,
       coalesce(f.recording_url, a.recording_url), 'otlp', now()::TIMESTAMP, coalesce(f.end_reason, a.end_reason),
       v.caller_barge_ins, v.agent_talk_overs, v.longest_silence_ms, v.agent_speech_s, v.speech_s, v.longest_wait_ms
FROM totals t JOIN affected a USING (call_id) JOIN facts f USING (call_id) LEFT JOIN models m USING (call_id)
LEFT JOIN turn_counts n USING (call_id) LEFT JOIN conversation v USING (call_id)
"""

# Outcomes imported before their call arrived are linked as soon as it does.
_LINK_OUTCOMES = """
UPDATE outcomes SET call_id = f.call_id
FROM (SELECT DISTINCT call_id, trace_id FROM call_spans) f
WHERE outcomes.call_id IS NULL
  AND (outcomes.trace_id = f.trace_id OR (outcomes.trace_id IS NULL AND outcomes.external_key = f.call_id))
"""

@dataclass(frozen=True)
class SpanLoad:
    loaded: int  # spans new to the warehouse
    unchanged: int  # spans it held already (or sent twice): skipped
    calls_rebuilt: int  # calls that existed before this run and gained spans
    unpriced_models: list[tuple[str | None, str | None]]  # (provider, model) of new spans without a price


def compile_ahead() -> None:
    """Compile now what `load_spans` compiles on its first call (the conversation figures' SQL, from
    ibis: about two seconds of imports), so a long-lived loader does not pay it on its first merge."""
    conversation_sql("rebuilt_turns")


def load_spans(con: duckdb.DuckDBPyConnection, spans: pa.Table, run_started_at: datetime) -> SpanLoad:
    """Add `spans` (rows of `ingest.otlp.parse_spans`) to the warehouse inside the
    caller's transaction; spans it already holds are skipped, so loading twice changes nothing."""
    rids = np.arange(spans.num_rows, dtype=np.int64)  # file order: of a span sent twice, the first is kept
    con.register("staged_arrow", spans.append_column("rid", pa.Array.from_buffers(
        pa.int64(), len(rids), [None, pa.py_buffer(rids)])))
    try:
        con.execute(_NEW_SPANS)
        loaded = _count(con, "SELECT count(*) FROM call_spans")
        skipped = spans.num_rows - loaded
        if not loaded:
            return SpanLoad(0, skipped, 0, [])
        unpriced = con.execute("SELECT DISTINCT provider, model FROM call_spans WHERE unpriced "
                               "ORDER BY provider NULLS LAST, model NULLS LAST").fetchall()
        con.execute(_AFFECTED)
        existed, updated, rekeyed, outcomes_wait, joined = con.execute(
            _AFFECTED_FACTS, [run_started_at]).fetchall()[0]
        if rekeyed:
            con.execute(_REKEY_SPANS)
        if joined:
            con.execute(_REKEY_JOINED)
        if existed:
            con.execute(_ADD_STORED_CALL_SPANS)
            con.execute(_CLEAR_OLD_CALLS)
        con.execute(_INSERT_SPANS)
        con.execute(_REBUILD_TURNS)
        if _count(con, "SELECT count(*) FROM utterance_calls"):
            con.execute(_ASSIGN_STAGE_TURNS)  # an update of `spans`: only when some call needs it
        con.execute(_REBUILD_CALLS.format(conversation=conversation_sql("rebuilt_turns")))
        if outcomes_wait:
            con.execute(_LINK_OUTCOMES)
        return SpanLoad(loaded, skipped, int(updated), unpriced)
    finally:
        con.unregister("staged_arrow")  # the temp tables go with the connection, closed after the transaction


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return int(con.execute(sql, params or []).fetchall()[0][0])
