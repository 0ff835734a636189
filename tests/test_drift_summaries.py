"""The drift flags' fast path gives the series a direct computation gives: on the demo warehouse,
every value the flags judge is read row by row with plain SQL from the turns, spans and calls (the
talking-over flag of each call taken turn by turn, tests/independent.py), summarised per day and
week with polars (tests/drift_simulation.py), and turned into series as the page does; the
engine's summaries (`drift_summaries`) must give the same windows, value for value."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data.scenario import timeline
from tests import drift_simulation as sim
from tests.independent import talk
from warehouse.drift.detection import Series, Window, load_thresholds
from warehouse.drift.queries import HISTORY_WEEKS, drift_summaries, series_from
from warehouse.filters import Filters

THRESHOLDS = load_thresholds()
END = timeline().end_day
DAYS = 15 * 7  # what the history strip reads: its 8 weeks and the 7 before the oldest one's trend
DAILY_DAYS = (HISTORY_WEEKS + THRESHOLDS.baseline_weeks) * THRESHOLDS.recent_days  # the last-days test's reach

CALLS = "(SELECT *, agent || ' ' || prompt_version AS prompt FROM calls WHERE day BETWEEN $first AND $end)"
LATENCY = f"""
SELECT 'reply' AS measure, c."{{group}}" AS "group", c.day, t.response_latency_ms::DOUBLE AS value
FROM turns t JOIN {CALLS} c USING (call_id) WHERE t.speaker = 'agent' AND t.response_latency_ms IS NOT NULL
UNION ALL
SELECT s.kind, c."{{group}}", c.day, s.duration_ms
FROM spans s JOIN {CALLS} c USING (call_id) WHERE s.kind IN ('stt', 'llm', 'tool', 'tts')
"""
MOMENTS = f"""
SELECT 'cost' AS measure, "{{group}}" AS "group", day, cost_usd AS value FROM {CALLS}
UNION ALL
SELECT 'tokens', "{{group}}", day, (coalesce(input_tokens, 0) + coalesce(output_tokens, 0))::DOUBLE FROM {CALLS}
UNION ALL
SELECT 'tool_errors', s.tool_name, c.day, s.is_error::DOUBLE
FROM spans s JOIN {CALLS} c USING (call_id) WHERE s.kind = 'tool' AND s.tool_name IS NOT NULL
UNION ALL
SELECT 'model_errors', s.model, c.day, s.is_error::DOUBLE
FROM spans s JOIN {CALLS} c USING (call_id) WHERE s.kind = 'llm' AND s.model IS NOT NULL
"""
TURNS = f"""SELECT c."{{group}}" AS "group", c.day, t.* EXCLUDE (day)
            FROM turns t JOIN {CALLS} c USING (call_id) ORDER BY t.call_id"""


def read(db: Path, sql: str, group: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        first = END - timedelta(days=DAYS - 1)
        return pl.from_arrow(con.sql(sql.format(group=group), params={"first": first, "end": END}).to_arrow_table())
    finally:
        con.close()


def interruptions(db: Path, group: str) -> pl.DataFrame:
    """Per call with turns: 1 when anyone talked over the other, from its turns one by one."""
    rows = []
    for (call_group, day, _), turns in read(db, TURNS, group).group_by("group", "day", "call_id"):
        rows.append({"measure": "interruptions", "group": call_group, "day": day,
                     "value": float(talk(turns.to_dicts()).talked_over)})
    return pl.DataFrame(rows)


def rows_back(values: pl.DataFrame) -> pl.DataFrame:
    """The summaries' rows: measure, group, days back from the end day, value; none without a
    group or a value (the engine leaves those out too)."""
    back = pl.lit(END) - pl.col("day").cast(pl.Date)
    return values.drop_nulls(["group", "value"]).select("measure", "group", back=back.dt.total_days(), value="value")


def direct_series(db: Path, group: str) -> dict[tuple[str, str, str], Series]:
    latency = rows_back(read(db, LATENCY, group))
    moments = rows_back(pl.concat([read(db, MOMENTS, group), interruptions(db, group)], how="vertical_relaxed"))
    summaries = sim.summarise([latency], [moments], end=END, days=DAYS)
    return {(s.measure, s.statistic, s.group): s for s in series_from(summaries, THRESHOLDS)}


def same(fast: Window, direct: Window) -> bool:
    return fast.n == direct.n and fast.events == direct.events and all(
        (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)
        for a, b in ((fast.value, direct.value), (fast.log_se, direct.log_se), (fast.var, direct.var)))


@pytest.mark.parametrize("group", ["agent", "prompt"])
def test_the_engines_summaries_give_the_series_of_a_direct_computation(demo_warehouse: Path, group: str) -> None:
    fast = series_from(drift_summaries(Filters(END, END), group, END, DAYS, DAILY_DAYS), THRESHOLDS)
    direct = direct_series(demo_warehouse, group)
    assert {(s.measure, s.statistic, s.group) for s in fast} == set(direct)
    assert {s.measure for s in fast} == {"reply", "stt", "llm", "tool", "tts", "cost", "tokens", "errors",
                                         "interruptions"}
    for series in fast:
        theirs = direct[(series.measure, series.statistic, series.group)]
        name = (series.measure, series.statistic, series.group)
        percentile = series.statistic not in ("mean", "rate")  # daily percentiles: only the days tested
        days = {back: w for back, w in theirs.days.items() if not percentile or back < DAILY_DAYS}
        assert set(series.days) == set(days) and set(series.weeks) == set(theirs.weeks), name
        assert all(same(w, days[back]) for back, w in series.days.items()), name
        assert all(same(w, theirs.weeks[back]) for back, w in series.weeks.items()), name

