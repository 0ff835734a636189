"""The drift page's words and charts, shared by the page and the deck: what each series is called,
one plain sentence per flagged series ("p95 LLM latency on salon-booker rose 68% (0.88 s → 1.48 s)
after the switch to gpt-4.1-mini on 28 Oct"; percentiles of one measure and group that moved
together share a sentence), and the trend charts: one line per group over days or weeks, with a
labelled rule wherever a prompt version or a model went live."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import groupby

import altair as alt
import polars as pl

from present.charts import AXIS_FORMATS
from present.formats import format_p, format_value
from warehouse.drift.detection import SeriesVerdict
from warehouse.drift.queries import DriftFlags

MEASURES = {
    "reply": ("reply time", "ms", "The silence the caller hears: from the end of their words to the agent's reply."),
    "stt": ("speech-to-text latency", "ms", "Time to turn the caller's words into text."),
    "llm": ("LLM latency", "ms", "Time the language model takes to answer, per request."),
    "tool": ("tool latency", "ms", "Time a tool (calendar, price list, CRM) takes to answer."),
    "tts": ("text-to-speech latency", "ms", "Time until the first audio of the reply is ready."),
    "cost": ("cost per call", "usd", "What the models and speech services cost per call, at list prices."),
    "tokens": ("tokens per call", "count", "Words (tokens) sent to and received from the language model per call."),
    "errors": ("failure rate", "pct", "Share of a tool's or model's requests that failed."),
}


def _day(d: object) -> str:
    return f"{d:%-d %b}"


def _percent(change: float) -> str:
    return f"{abs(change):.0%}"


def _subject(v: SeriesVerdict) -> str:
    label = MEASURES[v.measure][0]
    if v.measure == "errors":
        return f"The failure rate of {v.group}"
    return f"{label[0].upper()}{label[1:]} on {v.group}"


def _change(change: dict) -> str:
    if change["kind"] == "model":
        return f"the switch to {change['what']} on {_day(change['day'])}"
    return f"prompt {change['what']} going live on {_day(change['day'])}"


def _cause(flags: DriftFlags, v: SeriesVerdict) -> str:
    """After the change that went live in the week, if any; else the week, naming a change that
    went live during the weeks it is compared with."""
    recent = flags.change_behind(v, since=flags.recent_start)
    if recent is not None:
        return f"after {_change(recent)}"
    earlier = flags.change_behind(v, since=flags.baseline_start)
    note = f" (the weeks compared include {_change(earlier)})" if earlier else ""
    return f"in the week to {_day(flags.end)}{note}"


def _moved(v: SeriesVerdict) -> float:
    """A flagged verdict's change (the test that flagged it measured one)."""
    assert v.change is not None, f"{v.measure} {v.statistic} is flagged without a change"
    return v.change


def _amounts(verdicts: list[SeriesVerdict]) -> str:
    """'25% at p50 and 87% at p95 (p95 0.90 s → 1.68 s)', or for a rate or a mean its change
    and values."""
    first = next((v for v in verdicts if v.statistic == "p95"), verdicts[0])
    unit = MEASURES[first.measure][1]
    values = f"{format_value(first.baseline_value, unit)} → {format_value(first.recent_value, unit)}"
    if first.statistic == "rate":
        return f"{abs(_moved(first)) * 100:.1f} points ({values})"
    if first.statistic == "mean":
        return f"{_percent(_moved(first))} ({values})"
    parts = [f"{_percent(_moved(v))} at {v.statistic}" for v in verdicts]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{joined} ({first.statistic} {values})"


def sentences(flags: DriftFlags) -> list[str]:
    """One sentence per measure, group and direction that was flagged, biggest change first."""
    def key(v: SeriesVerdict) -> tuple:
        return v.measure, v.group, _moved(v) > 0

    flagged = sorted(flags.flagged, key=key)
    grouped = [sorted(g, key=lambda v: v.statistic) for _, g in groupby(flagged, key=key)]
    grouped.sort(key=lambda g: -max(abs(_moved(v)) for v in g))
    return [_sentence(flags, g) for g in grouped]


def _sentence(flags: DriftFlags, verdicts: list[SeriesVerdict]) -> str:
    lead = verdicts[0]
    verb = "rose" if _moved(lead) > 0 else "fell"
    return f"{_subject(lead)} {verb} {_amounts(verdicts)} {_cause(flags, lead)}."


def series_count(flags: DriftFlags) -> str:
    """'52 series tested (6 more not tested: too few values, or nothing varied)': the one count the
    page states, in its caption and above the table alike."""
    untested = len(flags.verdicts) - flags.tested
    more = f" ({untested} more not tested: too few values, or nothing varied)" if untested else ""
    return f"{flags.tested} series tested{more}"


def series_name(v: SeriesVerdict) -> str:
    """'p95 LLM latency', 'cost per call', 'failure rate' (the group is its own column)."""
    label = MEASURES[v.measure][0]
    return f"{v.statistic} {label}" if v.statistic in ("p50", "p95", "p99") else label


def change_text(v: SeriesVerdict, low: float | None = None, high: float | None = None) -> str:
    """A change as people read it: '+38%' or '+2.1 pts'; with its interval when given."""
    def one(x: float) -> str:
        return f"{x * 100:+.1f} pts" if v.statistic == "rate" else f"{x:+.0%}"

    if v.change is None:
        return "—"
    if low is None or high is None:
        return one(v.change)
    return f"{one(v.change)} ({one(low)} to {one(high)})"


def rows(verdicts: Iterable[SeriesVerdict]) -> list[dict]:
    """Every series judged, as table rows for the details."""
    return [
        {
            "Flag": "⚑" if v.flagged else "",
            "Series": series_name(v),
            "Of": v.group,
            "Before": format_value(v.baseline_value, MEASURES[v.measure][1]),
            "Last week": format_value(v.recent_value, MEASURES[v.measure][1]),
            "Change (95% range)": change_text(v, v.change_low, v.change_high),
            "Test": v.test,
            "p": "" if v.p_value is None else format_p(v.p_value).removeprefix("p").strip(" ="),
            "Values (week / before)": f"{v.n_recent:,} / {v.n_baseline:,}",
            "Why not flagged": v.reason,
        }
        for v in verdicts
    ]


MARKER_COLOUR = "#555555"
LABEL_ROWS = 3  # marker labels are staggered over this many rows so close ones do not overlap


def _markers(markers: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """The markers in range, each with its label's row and whether the label sits left of its
    rule (in the right half of the chart, where a label to the right would be cut off)."""
    shown = markers.filter(pl.col("day").is_between(first, last)).sort("day")
    middle = first + (last - first) / 2
    return shown.with_columns(row=(pl.int_range(pl.len()) % LABEL_ROWS) * 15 + 6, left=pl.col("day") > middle)


def trend_by_group(frame: pl.DataFrame, value: str, unit: str, title: str, markers: pl.DataFrame,
                   legend: str, height: int = 220) -> alt.LayerChart:
    """`value` per `bucket`, one line per `group`, with the change markers that fall in range."""
    data = frame.select("bucket", "group", value).drop_nulls()
    number = AXIS_FORMATS.get(unit, ",.2f")
    x = alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=6))
    lines = alt.Chart(data, height=height, title=title).mark_line(point=alt.OverlayMarkDef(size=16)).encode(
        x=x,
        y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=number, tickCount=4),
                scale=alt.Scale(zero=unit in ("pct", "usd", "count"))),
        color=alt.Color("group:N", title=legend, legend=alt.Legend(orient="bottom", columns=3, labelLimit=260)),
        tooltip=[alt.Tooltip("bucket:T", title="From", format="%a %d %b %Y"), alt.Tooltip("group:N", title=legend),
                 alt.Tooltip(f"{value}:Q", title=title, format=number)],
    )
    if data.is_empty():
        return alt.LayerChart(layer=[lines])
    first, last = data["bucket"].min(), data["bucket"].max()
    assert isinstance(first, date) and isinstance(last, date)  # bucket is a date column and data is not empty
    shown = _markers(markers, first, last)
    if shown.is_empty():
        return alt.LayerChart(layer=[lines])
    base = alt.Chart(shown).encode(x=alt.X("day:T"))
    rules = base.mark_rule(color=MARKER_COLOUR, strokeDash=[4, 3]).encode(
        tooltip=[alt.Tooltip("day:T", title="Went live", format="%d %b %Y"), alt.Tooltip("label:N", title="Change")])
    labels = [
        base.transform_filter(alt.datum.left == left)
        .mark_text(align="right" if left else "left", dx=-4 if left else 4, fontSize=11, color=MARKER_COLOUR)
        .encode(y=alt.Y("row:Q", scale=None), text="label:N")
        for left in (False, True)
    ]
    return alt.LayerChart(layer=[lines, rules, *labels])
