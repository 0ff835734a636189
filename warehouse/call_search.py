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
sidebar scope, each call's outcome, its latest judgement and its conversation figures (the columns
ingest stores on `calls`, `call_conversation`; the count of dead-air silences, which depends on the
threshold, from `conversation_per_call` over the turns of the calls that have dead air at all), so
a call's numbers here are the Overview's."""

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

    def where(self, table: str, column: str) -> tuple[list[str], dict[str, object]]:
        """SQL conditions that keep `table.column` in the range (a NULL is in none), and their
        parameters."""
        conditions: list[str] = [f"{table}.{column} IS NOT NULL"]
        params: dict[str, object] = {}
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


_EXACT_ID = """
SELECT call_id, 'call id' AS matched_on, NULL::VARCHAR AS snippet FROM calls
WHERE day BETWEEN $start AND $end AND (lower(call_id) = lower($text) OR lower(trace_id) = lower($text))"""

_ID_HITS = """
SELECT call_id, 1 AS rank, 'call id' AS matched_on, NULL::VARCHAR AS snippet FROM calls
WHERE day BETWEEN $start AND $end AND (call_id ILIKE $pattern ESCAPE '\\' OR trace_id ILIKE $pattern ESCAPE '\\')"""

# The caller's number, its digits ending with the ones typed; the root span's attributes are first
# narrowed to those holding the typed number's last two digits, which spares the JSON read and the
# regular expression for most calls (a number is written with its last two digits together).
_NUMBER_HITS = f"""
SELECT call_id, 2, 'caller number', NULL FROM spans
WHERE kind = 'call' AND day BETWEEN $start AND $end AND contains(attributes::VARCHAR, right($digits, 2))
  AND ends_with(regexp_replace(attributes ->> '$."{CALLER_NUMBER}"', '\\D', '', 'g'), $digits)"""

_WORD_HITS = """
SELECT call_id, 3, 'transcript', arg_min(text, turn_index) FROM turns
WHERE day BETWEEN $start AND $end AND text ILIKE $pattern ESCAPE '\\'
GROUP BY call_id"""

# A call's first hit names what matched: its id, then its caller's number, then its words.
_HITS = """
SELECT call_id, arg_min(matched_on, rank) AS matched_on, arg_min(snippet, rank) AS snippet
FROM ({hits}) GROUP BY call_id"""

_CANDIDATES = """
CREATE OR REPLACE TEMP TABLE search_candidates AS
SELECT s.call_id, s.started_at, s.day, s.agent, s.prompt_version, s.duration_ms, s.cost_usd, s.longest_wait_ms,
       (s.caller_barge_ins + s.agent_talk_overs)::BIGINT AS interruptions, s.speech_s IS NOT NULL AS has_turns,
       s.longest_silence_ms >= $dead_air_ms AS has_dead_air, {hit_columns}
FROM ({scope}) s {hits}"""

# The rows the definitions read, for the calls in `search_ids` only (their days bound the scans);
# turns only of the calls with dead air (a call without has none to count).
_RESTRICTED = {
    "search_outcomes": "SELECT * FROM outcomes WHERE call_id IN (SELECT call_id FROM search_ids)",
    "search_judgements": "SELECT * FROM judgements WHERE call_id IN (SELECT call_id FROM search_ids)",
    "search_turns": "SELECT * FROM turns WHERE day BETWEEN (SELECT min(day) FROM search_ids) "
                    "AND (SELECT max(day) FROM search_ids) "
                    "AND call_id IN (SELECT call_id FROM search_ids JOIN search_candidates USING (call_id) "
                    "WHERE has_dead_air)",
}

_ANNOTATED = """
CREATE OR REPLACE TEMP TABLE search_annotated AS
SELECT c.*, o.booked, o.resolved, o.escalated, o.call_id IS NOT NULL AS has_outcome,
       CASE j.passed WHEN true THEN 'pass' WHEN false THEN 'fail' END AS verdict, j.call_id IS NOT NULL AS judged,
       j.score AS judge_score, j.labels AS judge_labels,
       CASE WHEN c.has_dead_air THEN v.dead_air WHEN c.has_turns THEN 0 END::BIGINT AS dead_air
FROM search_ids i JOIN search_candidates c USING (call_id)
LEFT JOIN ({outcome}) o ON o.call_id = c.call_id
LEFT JOIN ({judged}) j ON j.call_id = c.call_id
LEFT JOIN ({conversation}) v ON v.call_id = c.call_id"""

_OUTCOME_HOLDS = {
    "booked": "coalesce(booked, false)",
    "not_booked": "NOT coalesce(booked, true)",
    "resolved": "coalesce(resolved, false)",
    "escalated": "coalesce(escalated, false)",
    "none": "NOT has_outcome",
}
_VERDICT_HOLDS = {"pass": "verdict = 'pass'", "fail": "verdict = 'fail'", "unjudged": "NOT judged"}
_MODES_HOLD = "list_has_any(judge_labels, $modes::VARCHAR[])"

_NEWEST = "SELECT call_id, day FROM {table} {where} ORDER BY started_at DESC, call_id LIMIT {limit}"

_CALLER_NUMBERS = f"""
SELECT call_id, any_value(attributes ->> '$."{CALLER_NUMBER}"') AS caller_number FROM spans
WHERE kind = 'call' AND day BETWEEN (SELECT min(day) FROM search_ids) AND (SELECT max(day) FROM search_ids)
  AND call_id IN (SELECT call_id FROM search_ids)
GROUP BY call_id"""


@dataclass(frozen=True)
class _Definitions:
    """The metrics' definitions as DuckDB SQL, compiled once (compiling them, and reading the
    tables' schemas to do so, costs more than running them on a period) over the temp tables
    `search_outcomes`, `search_judgements` and `search_turns`, which hold only the rows of the
    calls the search needs them for; and the tables, unbound, to compile the sidebar's scope over."""

    outcome: str
    judged: str
    conversation: str
    tables: Tables


_compiled: dict[int, _Definitions] = {}


def _definitions(con, dead_air_ms: int) -> _Definitions:
    if dead_air_ms not in _compiled:
        t = duckdb_tables(con)
        unbound = Tables.made(**{name: ibis.table(getattr(t, name).schema(), name=name) for name in TABLE_NAMES})
        restricted = Tables.made(**{name: ibis.table(getattr(t, name).schema(), name=f"search_{name}")
                                    for name in TABLE_NAMES})
        _compiled[dead_air_ms] = _Definitions(
            outcome=_sql(metrics.outcome_per_call(restricted)),
            judged=_sql(metrics.latest_judgement_per_call(restricted)),
            conversation=_sql(metrics.conversation_per_call(restricted.turns, dead_air_ms)),
            tables=unbound,
        )
    return _compiled[dead_air_ms]


def _sql(expression: ibis.Table) -> str:
    return str(ibis.to_sql(expression, dialect="duckdb"))


def _hits(con, filters: Filters, text: str) -> tuple[str, dict[str, object]]:
    """Calls in the period whose id, caller's number or transcript holds `text`, and the
    parameters. An id typed in full finds its call alone, without reading any transcript."""
    period: dict[str, object] = {"start": filters.start, "end": filters.end}
    if con.sql(_EXACT_ID, params=period | {"text": text}).fetchall():
        return _EXACT_ID, period | {"text": text}
    digits = phone_digits(text)
    hits = [_ID_HITS, *([_NUMBER_HITS] if digits is not None else []), _WORD_HITS]
    params = period | {"pattern": like_pattern(text)} | ({"digits": digits} if digits is not None else {})
    return _HITS.format(hits=" UNION ALL ".join(hits)), params


@dataclass
class _Conditions:
    """The search's filters as SQL: on `search_candidates`' own columns (the stored conversation
    figures) and on `search_annotated` (outcome, verdict, modes, a count of dead-air silences),
    with their parameters and which figures the second kind reads for every candidate."""

    on_calls: list[str] = field(default_factory=list)
    on_figures: list[str] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)
    reads: set[str] = field(default_factory=set)  # of _RESTRICTED's tables

    def add_range(self, wanted: Range, column: str, on_figures: bool = False) -> None:
        more, values = wanted.where("search_annotated" if on_figures else "search_candidates", column)
        (self.on_figures if on_figures else self.on_calls).extend(more)
        self.params |= values


def _conditions(search: CallSearch) -> _Conditions:
    """The outcome, verdict, failure-mode and conversation filters (fixed SQL; the modes and range
    ends are parameters)."""
    c = _Conditions()
    if search.outcomes:
        c.on_figures.append("(" + " OR ".join(_OUTCOME_HOLDS[key] for key in search.outcomes) + ")")
        c.reads.add("search_outcomes")
    if search.verdicts or search.modes:
        c.reads.add("search_judgements")
    if search.verdicts:
        c.on_figures.append("(" + " OR ".join(_VERDICT_HOLDS[key] for key in search.verdicts) + ")")
    if search.modes:
        c.on_figures.append(_MODES_HOLD)
        c.params["modes"] = list(search.modes)
    for column, wanted in (("longest_wait_ms", search.longest_wait_ms), ("interruptions", search.interruptions)):
        if wanted.is_set:
            c.add_range(wanted, column)
    if search.dead_air.is_set:
        _dead_air(search.dead_air, c)
    return c


def _dead_air(wanted: Range, c: _Conditions) -> None:
    """A range of dead-air silences. "At least one" and "none" are read off the call's longest
    silence (`has_dead_air`); any other count is counted from the turns of the calls with dead air."""
    low, high = wanted.low or 0, wanted.high
    if low > 0:
        c.on_calls.append("has_dead_air")
    if high is not None and 0 <= high < 1 and low <= 0:
        c.on_calls.append("has_turns AND NOT has_dead_air")
    elif low > 1 or high is not None:
        c.add_range(wanted, "dead_air", on_figures=True)
        c.reads.add("search_turns")


def _candidates(con, filters: Filters, text: str, definitions: _Definitions, dead_air_ms: int) -> None:
    """Fill `search_candidates`: the calls in the sidebar's scope that the text finds (all of
    them when there is no text)."""
    hits, hit_columns = "", "NULL::VARCHAR AS matched_on, NULL::VARCHAR AS snippet"
    params: dict[str, object] = {"dead_air_ms": dead_air_ms}
    if text:
        hits_sql, found = _hits(con, filters, text)
        hits, hit_columns, params = f"JOIN ({hits_sql}) h ON h.call_id = s.call_id", "h.matched_on, h.snippet", \
            params | found
    scope = _sql(metrics.scoped_calls(definitions.tables, filters))
    con.execute(_CANDIDATES.format(hit_columns=hit_columns, scope=scope, hits=hits), params)


def _annotate(con, ids: str, definitions: _Definitions, reads: set[str] | None = None,
              params: dict[str, object] | None = None) -> None:
    """Fill `search_annotated` for the calls `ids` (a query over `search_candidates`) with their
    outcome, latest judgement and dead-air count, read from their own rows only (`reads`: only
    those of `_RESTRICTED`'s tables; default all)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE search_ids AS {ids}", _used(ids, params or {}))
    for name, rows in _RESTRICTED.items():
        kept = "" if reads is None or name in reads else " AND false"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {rows}{kept}")
    con.execute(_ANNOTATED.format(outcome=definitions.outcome, judged=definitions.judged,
                                  conversation=definitions.conversation))


def _used(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters `sql` names (DuckDB refuses any it does not)."""
    return {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)}


def search_calls(filters: Filters, search: CallSearch, path=None, limit: int = RESULTS_SHOWN) -> SearchResult:
    """The calls in the sidebar's scope that match `search`, newest first (at most `limit`), with
    how many match in all. The stored conversation figures filter the candidates directly; the
    outcome, judgement and dead-air count are read for every remaining candidate only when a filter
    asks for them, then for the calls listed."""
    c = _conditions(search)
    dead_air_ms = metrics.dead_air_threshold_ms()
    with connect(path) as con:
        definitions = _definitions(con, dead_air_ms)
        _candidates(con, filters, search.text.strip(), definitions, dead_air_ms)
        on_calls = "WHERE " + " AND ".join(c.on_calls) if c.on_calls else ""
        if c.on_figures:  # the figures decide which calls match: read them for every candidate left
            _annotate(con, f"SELECT call_id, day FROM search_candidates {on_calls}", definitions, c.reads, c.params)
            table, where = "search_annotated", "WHERE " + " AND ".join(c.on_figures)
        else:
            table, where = "search_candidates", on_calls
        total = con.sql(f"SELECT count(*) FROM {table} {where}", params=_used(where, c.params)).fetchall()[0][0]
        con.execute("CREATE OR REPLACE TEMP TABLE search_listed AS "
                    + _NEWEST.format(table=table, where=where, limit=int(limit)), _used(where, c.params))
        _annotate(con, "SELECT * FROM search_listed", definitions)
        frame = con.sql("SELECT * FROM search_annotated ORDER BY started_at DESC, call_id").pl()
        numbers = con.sql(_CALLER_NUMBERS).pl()
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

