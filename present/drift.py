"""The drift page's words and charts, shared by the page and the deck: what each series is called,
one plain sentence per flagged series ("p95 LLM latency on salon-booker rose 68% (0.88 s → 1.48 s)
after the switch to gpt-4.1-mini on 28 Oct"; percentiles of one measure and group that moved
together share a sentence), and the trend charts: one line per group over days or weeks, with a
labelled rule wherever a prompt version or a model went live."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from itertools import groupby

import altair as alt
import polars as pl

from present.charts import AXIS_FORMATS, ROOM_PX, Figure, in_seconds, shaped, value_axis
from present.formats import format_p, format_value
from warehouse.drift.detection import SeriesVerdict
from warehouse.drift.queries import DriftFlags

MEASURES = {
    "reply": ("caller wait", "ms", "The silence the caller hears: from the end of their words to the agent's reply."),
    "stt": ("speech-to-text latency", "ms", "Time to turn the caller's words into text."),
    "llm": ("LLM latency", "ms", "Time the language model takes to answer, per request."),
    "tool": ("tool latency", "ms", "Time a tool (calendar, price list, CRM) takes to answer."),
    "tts": ("text-to-speech latency", "ms", "Time until the first audio of the reply is ready."),
    "cost": ("cost per call", "usd", "What the models and speech services cost per call, at list prices."),
    "tokens": ("tokens per call", "count", "Words (tokens) sent to and received from the language model per call."),
    "errors": ("failure rate", "pct", "Share of a tool's or model's requests that failed."),
    "interruptions": ("talking-over share", "pct",
                      "Share of calls where someone talked over the other: the caller over the agent, or the agent "
                      "over the caller."),
}


def _day(d: object) -> str:
    return f"{d:%-d %b}"


def _percent(change: float) -> str:
    return f"{abs(change):.0%}"


def _subject(v: SeriesVerdict) -> str:
    label = MEASURES[v.measure][0]
    if v.measure == "errors":
        return f"The failure rate of {v.group}"
    if v.measure == "interruptions":
        return f"The share of calls with talking over on {v.group}"
    return f"{label[0].upper()}{label[1:]} on {v.group}"


def _change(change: dict) -> str:
    if change["kind"] == "model":
        return f"the switch to {change['what']} on {_day(change['day'])}"
    if change["kind"] == "end_of_turn":
        return f"the end-of-turn setting's change to {change['what']} on {_day(change['day'])}"
    return f"prompt {change['what']} going live on {_day(change['day'])}"


def window_start(flags: DriftFlags, v: SeriesVerdict) -> date:
    """The first day of the stretch a verdict's figures cover."""
    return flags.end - timedelta(days=v.days - 1)


def _cause(flags: DriftFlags, v: SeriesVerdict) -> str:
    """After the change that went live in the stretch tested, if any; else the stretch, naming a
    change that went live during the weeks it is compared with."""
    since = window_start(flags, v)
    recent = flags.change_behind(v, since=since)
    if recent is not None:
        return f"after {_change(recent)}"
    if v.window == "trend":
        return f"over the {v.days // 7} weeks to {_day(flags.end)}"
    earlier = flags.change_behind(v, since=flags.baseline_start)
    note = f" (the weeks compared include {_change(earlier)})" if earlier else ""
    if v.window == "days":
        return f"from {since:%a} {_day(since)}, the last {_days(v.days)} of the week to {_day(flags.end)}{note}"
    return f"in the week to {_day(flags.end)}{note}"


def _days(n: int) -> str:
    return "day" if n == 1 else f"{n} days"


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
    if first.window == "trend":
        assert first.per_week is not None, "a trend verdict has a change per week"
        per_week = f"{abs(first.per_week) * 100:.1f} points" if first.statistic == "rate" else _percent(first.per_week)
        return f"about {per_week} a week ({first.statistic} {values})"
    parts = [f"{_percent(_moved(v))} at {v.statistic}" for v in verdicts]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{joined} ({first.statistic} {values})"


def sentences(flags: DriftFlags) -> list[str]:
    """One sentence per measure, group and direction that was flagged, biggest change first."""
    return [sentence for _, sentence, _ in keyed_sentences(flags)]


def _said_together(v: SeriesVerdict) -> tuple:
    """What a flagged verdict shares with those said in the same sentence: measure, group,
    direction, and the test's stretch."""
    return v.measure, v.group, _moved(v) > 0, v.window, v.days


def keyed_sentences(flags: DriftFlags) -> list[tuple[tuple[str, str, bool], str, bool]]:
    """`sentences` with what each is about (measure, group, rising) and whether a change went live
    in the weeks it compares (so a report can say each series once and leave what a change did to
    a measurement of its own)."""
    flagged = sorted(flags.flagged, key=_said_together)
    grouped = [sorted(g, key=lambda v: v.statistic) for _, g in groupby(flagged, key=_said_together)]
    grouped.sort(key=lambda g: -max(abs(_moved(v)) for v in g))
    return [(_said_together(g[0])[:3], _sentence(flags, g),
             flags.change_behind(g[0], since=flags.baseline_start) is not None) for g in grouped]


def drifted(flags: DriftFlags) -> int:
    """How many things drifted in the week: its sentences, counted without writing them (the
    history strip counts eight weeks on every rerun)."""
    return len({_said_together(v) for v in flags.flagged})


def _sentence(flags: DriftFlags, verdicts: list[SeriesVerdict]) -> str:
    lead = verdicts[0]
    verb = "rose" if _moved(lead) > 0 else "fell"
    if lead.window == "trend":
        verb = "has crept up" if _moved(lead) > 0 else "has crept down"
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


COMPARED = {
    "week": "the week against the 4 before",
    "days": "its last {days} against the same days before",
    "trend": "the trend over {weeks} weeks",
}


def rows(verdicts: Iterable[SeriesVerdict]) -> list[dict]:
    """Every series judged, as table rows for the details."""
    return [
        {
            "Flag": "⚑" if v.flagged else "",
            "Series": series_name(v),
            "Of": v.group,
            "Before": format_value(v.baseline_value, MEASURES[v.measure][1]),
            "Latest": format_value(v.recent_value, MEASURES[v.measure][1]),
            "Change (95% range)": change_text(v, v.change_low, v.change_high),
            "Compared": COMPARED[v.window].format(days=_days(v.days), weeks=v.days // 7),
            "Test": v.test,
            "p": "" if v.p_value is None else format_p(v.p_value).removeprefix("p").strip(" ="),
            "Values (latest / before)": f"{v.n_recent:,} / {v.n_baseline:,}",
            "Why not flagged": v.reason,
        }
        for v in verdicts
    ]


MARKER_COLOUR = "#555555"
LABEL_ROWS = 3  # marker labels are staggered over this many rows so close ones do not overlap
LABEL_ROW_PX = ROOM_PX + 2  # a row of room-sized text (projector mode) and a little air


def _markers(markers: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """The markers in range, each with its label's row (its middle's distance from the top, in px)
    and whether the label sits left of its rule (in the right half of the chart, where a label to
    the right would be cut off)."""
    shown = markers.filter(pl.col("day").is_between(first, last)).sort("day")
    middle = first + (last - first) / 2
    return shown.with_columns(row=(pl.int_range(pl.len()) % LABEL_ROWS) * LABEL_ROW_PX + LABEL_ROW_PX // 2,
                              left=pl.col("day") > middle)


SERIES, MARKERS = "series", "markers"  # a trend's frames, by name


def trend_by_group(frame: pl.DataFrame, value: str, unit: str, title: str, markers: pl.DataFrame,
                   legend: str, height: int = 220, labelled: bool = True) -> Figure:
    """`value` per `bucket`, one line per `group`, with the change markers that fall in range;
    their labels only when `labelled` (a half-width chart has no room for them: its rules keep
    their tooltips)."""
    data = frame.select("bucket", "group", value).drop_nulls()
    if unit == "ms":
        data = in_seconds(data, [value])
    shown = markers.clear()
    if not data.is_empty():
        first, last = data["bucket"].min(), data["bucket"].max()
        assert isinstance(first, date) and isinstance(last, date)  # bucket is a date column and data is not empty
        shown = _markers(markers, first, last)
    if shown.is_empty():
        return Figure(_trend_by_group(value, unit, title, legend, height, "none"), {SERIES: data})
    marked = "labelled" if labelled else "rules"
    return Figure(_trend_by_group(value, unit, title, legend, height, marked), {SERIES: data, MARKERS: shown})


@shaped
def _trend_by_group(value: str, unit: str, title: str, legend: str, height: int, marked: str) -> alt.LayerChart:
    """The trend's spec; `marked`: its change markers drawn as "none", "rules" or "labelled" rules."""
    number, tip = (".2f", f"{title}, s") if unit == "ms" else (AXIS_FORMATS.get(unit, ",.2f"), title)
    lines = alt.Chart(alt.NamedData(SERIES), height=height, title=title).mark_line(
        point=alt.OverlayMarkDef(size=16)).encode(
        x=alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=6)),
        y=alt.Y(f"{value}:Q", title=None, axis=value_axis(unit), scale=alt.Scale(zero=unit in ("pct", "usd", "count"))),
        color=alt.Color("group:N", title=legend, legend=alt.Legend(orient="bottom", columns=3, labelLimit=260)),
        tooltip=[alt.Tooltip("bucket:T", title="From", format="%a %d %b %Y"), alt.Tooltip("group:N", title=legend),
                 alt.Tooltip(f"{value}:Q", title=tip, format=number)],
    )
    if marked == "none":
        return alt.LayerChart(layer=[lines])
    base = alt.Chart(alt.NamedData(MARKERS)).encode(x=alt.X("day:T"))
    rules = base.mark_rule(color=MARKER_COLOUR, strokeDash=[4, 3]).encode(
        tooltip=[alt.Tooltip("day:T", title="Went live", format="%d %b %Y"), alt.Tooltip("label:N", title="Change")])
    labels = [] if marked != "labelled" else [
        base.transform_filter(alt.datum.left == left)
        .mark_text(align="right" if left else "left", dx=-4 if left else 4, color=MARKER_COLOUR)
        .encode(y=alt.Y("row:Q", scale=None), text="label:N")
        for left in (False, True)
    ]
    return alt.LayerChart(layer=[lines, rules, *labels])


# ---- the week to open on, and the history strip ------------------------------------------------

def week_label(flags: DriftFlags) -> str:
    """'16 – 22 Nov' (the week under test)."""
    same_month = flags.recent_start.month == flags.end.month
    return f"{flags.recent_start:%-d}{'' if same_month else flags.recent_start.strftime(' %b')} – {flags.end:%-d %b}"


def opening_week(history: list[DriftFlags]) -> int:
    """The newest week with a flag (history is newest first); the newest week when none has one."""
    return next((i for i, flags in enumerate(history) if flags.flagged), 0)


def strip_label(flags: DriftFlags) -> str:
    """A week in the history strip: its days and its flags."""
    count = drifted(flags)
    return f"{week_label(flags)} · {count} ⚑" if count else f"{week_label(flags)} · –"


def quiet_weeks(history: list[DriftFlags]) -> str | None:
    """'Nothing drifted in the last 8 weeks (28 Sep – 22 Nov): …' when no week has a flag."""
    if any(flags.flagged for flags in history):
        return None
    weeks = ", ".join(week_label(flags) for flags in reversed(history))
    return f"Nothing drifted in the last {len(history)} weeks ({weeks}): no series moved by more than the " \
           "thresholds below allow."


WEEKS, STAGE_WEEKS = "weeks", "stage_weeks"  # the history strip's and the stages' frames, by name


def history_chart(history: list[DriftFlags], chosen: int) -> Figure:
    """One bar per week, as tall as the sentences it raised; the week shown is dark."""
    data = pl.DataFrame({
        "week": [week_label(f) for f in reversed(history)],
        "flags": [drifted(f) for f in reversed(history)],
        "shown": [i == chosen for i in reversed(range(len(history)))],
    })
    return Figure(_history_chart(), {WEEKS: data})


@shaped
def _history_chart() -> alt.Chart:
    return alt.Chart(alt.NamedData(WEEKS), height=90).mark_bar().encode(
        x=alt.X("week:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("flags:Q", title=None, axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.condition(alt.datum.shown, alt.value("#9c2f2f"), alt.value("#d9a3a3")),
        tooltip=[alt.Tooltip("week:N", title="Week"), alt.Tooltip("flags:Q", title="Things that drifted")],
    )


# ---- the caller's wait, stage by stage -------------------------------------------------------------

STAGES = {"end_of_turn": "End of turn", "speech_to_text": "Speech-to-text", "model": "Model",
          "speech_synthesis": "Speech synthesis"}
STAGE_SLOWED = 1.5  # a week's stage median this many times its usual one is called out


def stage_sentence(stages: pl.DataFrame) -> str | None:
    """The week and stage of the caller's wait that slowed most against that stage's usual
    (median) week, when it is at least `STAGE_SLOWED` times as long: "In the week of 19 Oct,
    speech-to-text slowed: 0.62 s against a usual 0.25 s (2.5×)."; None when no stage did."""
    if stages.height < 3:
        return None
    worst = None
    for stage in STAGES:
        usual = stages[stage].median()
        if not isinstance(usual, float | int) or usual <= 0:
            continue
        row = stages.sort(stage, descending=True).row(0, named=True)
        ratio = row[stage] / usual
        if worst is None or ratio > worst[0]:
            worst = (ratio, stage, row["bucket"], row[stage], usual)
    if worst is None or worst[0] < STAGE_SLOWED:
        return None
    ratio, stage, week, value, usual = worst
    return (f"In the week of {_day(week)}, {STAGES[stage].lower()} slowed the caller's wait: "
            f"{format_value(value, 'ms')} against a usual {format_value(usual, 'ms')} ({ratio:.1f}×).")


def stage_chart(stages: pl.DataFrame, height: int = 240) -> Figure:
    """Each week's median of every stage of the caller's wait, stacked in the order they happen."""
    long = in_seconds(stages, list(STAGES)).unpivot(index="bucket", on=list(STAGES), variable_name="stage",
                                                    value_name="seconds")
    long = long.with_columns(stage=pl.col("stage").replace_strict(STAGES),
                             order=pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)}))
    long = long.with_columns(week=pl.col("bucket").dt.strftime("%d %b"))
    return Figure(_stage_chart(height), {STAGE_WEEKS: long})


@shaped
def _stage_chart(height: int) -> alt.Chart:
    return alt.Chart(alt.NamedData(STAGE_WEEKS), height=height,
                     title="The caller's wait, stage by stage (weekly medians)").mark_bar().encode(
        x=alt.X("week:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("seconds:Q", stack="zero", title=None, axis=value_axis("ms")),
        color=alt.Color("stage:N", title="Stage", sort=list(STAGES.values()),
                        legend=alt.Legend(orient="bottom", columns=4)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("bucket:T", title="Week of", format="%d %b %Y"), alt.Tooltip("stage:N", title="Stage"),
                 alt.Tooltip("seconds:Q", title="Median, s", format=".2f")],
    )
