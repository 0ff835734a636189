"""Find a call: by its call id or trace id, the number it came from, or words said in it, narrowed
by outcome, the judge's verdict and failure modes, and the caller's experience (longest wait,
interruptions, dead air), newest first.

The search box is read literally: `%`, `_`, `\\` and quotes match themselves (they are escaped
for LIKE and the whole text is bound as a parameter), and a call matches when its call id or
trace id contains the text, its caller's number ends with the digits typed (a leading trunk 0
dropped, so 07700 900123 finds +44 7700 900123), or one of its turns contains the text, any case.

Words are found with ILIKE over the period's turns: DuckDB's full-text extension cannot be loaded
offline (FACTS.md). The period bounds the scan (turns and spans are read by day), so the cost
grows with the calls in the period, not in the warehouse; docs/calls.md has the measured figures.

Everything after the text match is the metrics' own definitions (`warehouse/metrics.py`): the
sidebar scope, each call's outcome, its latest judgement and its conversation figures
(`conversation_per_call`), so a call's numbers here are the Overview's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ibis
import polars as pl

from warehouse import metrics
from warehouse.db import connect
from warehouse.filters import Filters
from warehouse.pii import redact_expression
from warehouse.tables import TABLE_NAMES, Tables, duckdb_tables

RESULTS_SHOWN = 200
SNIPPET_CHARS, SNIPPET_BEFORE = 140, 30
MIN_PHONE_DIGITS = 6
CALLER_NUMBER = "callboard.caller.number"  # on the call's root span: the number the call came from

OUTCOMES = {
    "booked": "Booked",
    "not_booked": "Not booked",
    "resolved": "Resolved",
    "escalated": "Passed to a person",
    "none": "No outcome recorded",
}
VERDICTS = {"pass": "Judge: pass", "fail": "Judge: fail", "unjudged": "Not judged yet"}
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")


@dataclass(frozen=True)
class Range:
    """A closed range; None at an end leaves that end open."""

    low: float | None = None
    high: float | None = None

    @property
    def is_set(self) -> bool:
        return self.low is not None or self.high is not None

    @classmethod
    def from_slider(cls, low: float, high: float, top: float, scale: float = 1) -> Range:
        """A slider's pick (from 0 to `top`, each end reaching as far as the data does when at
        the slider's end), in the data's unit (`scale` per slider unit)."""
        return cls(low * scale if low > 0 else None, high * scale if high < top else None)

    def where(self, table: str, column: str) -> tuple[list[str], dict]:
        """SQL conditions that keep `table.column` in the range (a NULL is in none), and their
        parameters."""
        conditions, params = [f"{table}.{column} IS NOT NULL"], {}
        for end, value, operator in (("low", self.low, ">="), ("high", self.high, "<=")):
            if value is not None:
                conditions.append(f"{table}.{column} {operator} ${column}_{end}")
                params[f"{column}_{end}"] = value
        return conditions, params


@dataclass(frozen=True)
class CallSearch:
    """What the Calls page asks for; empty means "any"."""

    text: str = ""
    outcomes: tuple[str, ...] = ()  # keys of OUTCOMES; a call matching any one is kept
    verdicts: tuple[str, ...] = ()  # keys of VERDICTS
    modes: tuple[str, ...] = ()  # failure-mode labels as the judge saved them (any one)
    longest_wait_ms: Range = field(default_factory=Range)
    interruptions: Range = field(default_factory=Range)  # either way: caller barge-ins + agent talk-overs
    dead_air: Range = field(default_factory=Range)  # silences of the dead-air threshold or more


@dataclass(frozen=True)
class SearchResult:
    calls: pl.DataFrame  # the newest RESULTS_SHOWN matches, one row per call (see `_SHOWN`)
    total: int  # every match


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern that finds it anywhere, its own wildcards and escape made literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def phone_digits(text: str) -> str | None:
    """The digits to look for at the end of a caller's number, when `text` reads as a phone
    number (digits with + ( ) . - and spaces, at least six digits); None otherwise."""
    if not _PHONE_LIKE.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text).lstrip("0")
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def mask_number(number: str | None) -> str | None:
    """A caller's number as the page shows it: every digit but the last three hidden, enough to
    tell one caller from another on a screen others can see."""
    if not number:
        return None
    shown = 3
    digits = sum(ch.isdigit() for ch in number)
    out, seen = [], 0
    for ch in number:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - shown else "•")
        else:
            out.append(ch)
    return "".join(out)


_ID_HITS = """
SELECT call_id, 1 AS rank, 'call id' AS matched_on, NULL::VARCHAR AS snippet FROM calls
WHERE day BETWEEN $start AND $end AND (call_id ILIKE $pattern ESCAPE '\\' OR trace_id ILIKE $pattern ESCAPE '\\')"""

_NUMBER_HITS = f"""
SELECT call_id, 2, 'caller number', NULL FROM spans
WHERE kind = 'call' AND day BETWEEN $start AND $end
  AND ends_with(regexp_replace(attributes ->> '$."{CALLER_NUMBER}"', '\\D', '', 'g'), $digits)"""

_WORD_HITS = """
SELECT call_id, 3, 'transcript', arg_min(text, turn_index) FROM turns
WHERE day BETWEEN $start AND $end AND text ILIKE $pattern ESCAPE '\\'
GROUP BY call_id"""

# A call's first hit names what matched: its id, then its caller's number, then its words.
_HITS = """
SELECT call_id, arg_min(matched_on, rank) AS matched_on, arg_min(snippet, rank) AS snippet
FROM ({hits}) GROUP BY call_id"""

_MATCHES = """
CREATE OR REPLACE TEMP TABLE search_matches AS
SELECT s.call_id, s.started_at, s.agent, s.prompt_version, s.duration_ms, s.cost_usd, {hit_columns},
       o.booked, o.resolved, o.escalated, CASE j.passed WHEN true THEN 'pass' WHEN false THEN 'fail' END AS verdict,
       j.score AS judge_score, j.labels AS judge_labels
FROM ({scope}) s {hits}
LEFT JOIN ({outcome}) o ON o.call_id = s.call_id
LEFT JOIN ({judged}) j ON j.call_id = s.call_id
WHERE {conditions}"""

_OUTCOME_HOLDS = {
    "booked": "coalesce(o.booked, false)",
    "not_booked": "NOT coalesce(o.booked, true)",
    "resolved": "coalesce(o.resolved, false)",
    "escalated": "coalesce(o.escalated, false)",
    "none": "o.call_id IS NULL",
}
_VERDICT_HOLDS = {"pass": "coalesce(j.passed, false)", "fail": "NOT coalesce(j.passed, true)",
                  "unjudged": "j.call_id IS NULL"}
_MODES_HOLD = "list_has_any(j.labels, $modes::VARCHAR[])"

# The turns of the calls in `search_voice`, read by day so the period bounds the scan; then their
# conversation figures by the metrics' definition.
_VOICE_TURNS = """
CREATE OR REPLACE TEMP TABLE search_turns AS
SELECT * FROM turns WHERE day BETWEEN $start AND $end AND call_id IN (SELECT call_id FROM search_voice)"""
_FIGURES = """
CREATE OR REPLACE TEMP TABLE search_figures AS
SELECT c.call_id, w.longest_wait_ms, (c.caller_barge_ins + c.agent_talk_overs)::BIGINT AS interruptions,
       c.dead_air::BIGINT AS dead_air
FROM ({conversation}) c
JOIN (SELECT call_id, max(response_latency_ms) AS longest_wait_ms FROM search_turns GROUP BY call_id) w
  USING (call_id)"""

_FOUND = """
FROM search_matches m {join} search_figures f USING (call_id) WHERE {conditions}"""

_SHOWN_ROWS = """
SELECT m.*, f.longest_wait_ms, f.interruptions, f.dead_air {found}
ORDER BY m.started_at DESC, m.call_id LIMIT $limit"""

_CALLER_NUMBERS = f"""
SELECT s.call_id, any_value(s.attributes ->> '$."{CALLER_NUMBER}"') AS caller_number
FROM spans s WHERE s.kind = 'call' AND s.day BETWEEN $start AND $end
  AND s.call_id IN (SELECT call_id FROM search_voice) GROUP BY s.call_id"""


@dataclass(frozen=True)
class _Definitions:
    """The metrics' definitions as DuckDB SQL, compiled once (compiling them, and reading the
    tables' schemas to do so, costs more than running them on a period): each call's outcome, its
    latest judgement, the conversation figures of the turns in the temp table `search_turns`, and
    the tables, unbound, to compile the sidebar's scope over."""

    outcome: str
    judged: str
    conversation: str
    tables: Tables


_compiled: dict[int, _Definitions] = {}


def _definitions(con, dead_air_ms: int) -> _Definitions:
    if dead_air_ms not in _compiled:
        t = duckdb_tables(con)
        _compiled[dead_air_ms] = _Definitions(
            outcome=_sql(metrics.outcome_per_call(t)),
            judged=_sql(metrics.latest_judgement_per_call(t)),
            conversation=_sql(metrics.conversation_per_call(ibis.table(t.turns.schema(), name="search_turns"),
                                                            dead_air_ms)),
            tables=Tables(**{name: ibis.table(getattr(t, name).schema(), name=name) for name in TABLE_NAMES}),
        )
    return _compiled[dead_air_ms]


def _sql(expression: ibis.Table) -> str:
    return str(ibis.to_sql(expression, dialect="duckdb"))


def _hits(text: str) -> tuple[str, dict]:
    """Calls in the period whose id, caller's number or transcript holds `text`, and the parameters."""
    digits = phone_digits(text)
    hits = [_ID_HITS, *([_NUMBER_HITS] if digits is not None else []), _WORD_HITS]
    params = {"pattern": like_pattern(text)} | ({"digits": digits} if digits is not None else {})
    return _HITS.format(hits=" UNION ALL ".join(hits)), params


def _conditions(search: CallSearch) -> tuple[str, dict]:
    """The outcome, verdict and failure-mode filters as a WHERE clause (fixed SQL; the modes a parameter)."""
    conditions: list[str] = ["true"]
    params: dict[str, object] = {}
    if search.outcomes:
        conditions.append("(" + " OR ".join(_OUTCOME_HOLDS[key] for key in search.outcomes) + ")")
    if search.verdicts:
        conditions.append("(" + " OR ".join(_VERDICT_HOLDS[key] for key in search.verdicts) + ")")
    if search.modes:
        conditions.append(_MODES_HOLD)
        params["modes"] = list(search.modes)
    return " AND ".join(conditions), params


def _match(con, filters: Filters, search: CallSearch, definitions: _Definitions) -> None:
    """Fill the temp table `search_matches`: the calls in scope that pass the text, outcome,
    verdict and failure-mode filters."""
    text = search.text.strip()
    conditions, params = _conditions(search)
    hits, hit_columns = "", "NULL::VARCHAR AS matched_on, NULL::VARCHAR AS snippet"
    if text:
        hits_sql, hit_params = _hits(text)
        params |= {"start": filters.start, "end": filters.end} | hit_params
        hits, hit_columns = f"JOIN ({hits_sql}) h ON h.call_id = s.call_id", "h.matched_on, h.snippet"
    scope = _sql(metrics.scoped_calls(definitions.tables, filters))
    con.execute(_MATCHES.format(hit_columns=hit_columns, scope=scope, hits=hits, outcome=definitions.outcome,
                                judged=definitions.judged, conditions=conditions), params)


def _figures(con, filters: Filters, calls: str, definitions: _Definitions) -> None:
    """Fill the temp table `search_figures` with the conversation figures of the `calls` (a query)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE search_voice AS {calls}")
    con.execute(_VOICE_TURNS, {"start": filters.start, "end": filters.end})
    con.execute(_FIGURES.format(conversation=definitions.conversation))


def _ranges(search: CallSearch) -> tuple[str, dict]:
    """The conversation filters as a WHERE clause over `search_figures f`, and their parameters."""
    conditions: list[str] = ["true"]
    params: dict[str, object] = {}
    for column, wanted in (("longest_wait_ms", search.longest_wait_ms), ("interruptions", search.interruptions),
                           ("dead_air", search.dead_air)):
        if wanted.is_set:
            more, values = wanted.where("f", column)
            conditions += more
            params |= values
    return " AND ".join(conditions), params


def search_calls(filters: Filters, search: CallSearch, path=None, limit: int = RESULTS_SHOWN) -> SearchResult:
    """The calls in the sidebar's scope that match `search`, newest first (at most `limit`), with
    how many match in all. The conversation figures are computed for every match when a range
    asks for them, else only for the calls listed."""
    ranges, range_params = _ranges(search)
    by_figures = bool(range_params)
    with connect(path) as con:
        definitions = _definitions(con, metrics.dead_air_threshold_ms())
        _match(con, filters, search, definitions)
        newest = f"SELECT call_id FROM search_matches ORDER BY started_at DESC, call_id LIMIT {int(limit)}"
        _figures(con, filters, "SELECT call_id FROM search_matches" if by_figures else newest, definitions)
        found = _FOUND.format(join="JOIN" if by_figures else "LEFT JOIN", conditions=ranges)
        total = con.sql(f"SELECT count(*) {found}", params=range_params).fetchall()[0][0]
        frame = con.sql(_SHOWN_ROWS.format(found=found), params=range_params | {"limit": limit}).pl()
        numbers = con.sql(_CALLER_NUMBERS, params={"start": filters.start, "end": filters.end}).pl()
    return SearchResult(_presentable(frame.join(numbers, "call_id", how="left"), search.text.strip()), int(total))


def snippet(text: str | None, term: str, width: int = SNIPPET_CHARS, before: int = SNIPPET_BEFORE) -> str | None:
    """The words around the first place `term` appears (any case) on one line: from `before`
    characters ahead of it, at most `width` characters, with … where it was cut."""
    if not text:
        return None
    text = " ".join(text.split())
    at = text.lower().find(term.lower()) if term else -1
    start = max(0, min(at - before, len(text) - width)) if at >= 0 else 0
    cut = text[start:start + width]
    return ("…" if start > 0 else "") + cut + ("…" if start + width < len(text) else "")


_SHOWN = ("call_id", "started_at", "agent", "caller", "matched_on", "snippet", "verdict", "judge_labels", "booked",
          "longest_wait_s", "interruptions", "dead_air", "duration_s", "cost_usd", "prompt_version", "resolved",
          "escalated", "judge_score")


def _presentable(frame: pl.DataFrame, text: str) -> pl.DataFrame:
    """The matches as the page lists them: the caller's number masked, the matching words cut
    around the match with phone numbers, e-mails and card numbers masked."""
    return frame.with_columns(
        caller=pl.col("caller_number").map_elements(mask_number, return_dtype=pl.String),
        snippet=pl.col("snippet").map_elements(lambda s: snippet(s, text), return_dtype=pl.String).fill_null(""),
        longest_wait_s=pl.col("longest_wait_ms") / 1000,
        duration_s=pl.col("duration_ms") / 1000,
    ).with_columns(redact_expression("snippet")).select(_SHOWN)

