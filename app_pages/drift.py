"""Cost and latency drift: what moved in the last week and why, then the trends behind it."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from present import drift as drift_words
from present.markdown import escape_markdown
from ui import charts, data
from ui.filters import require_filters
from ui.tables import show_table
from warehouse.drift.detection import TEST_NAMES, load_thresholds
from warehouse.drift.measures import STEP_KINDS

GROUPS = {"agent": "Agent", "model": "Model", "prompt": "Prompt version"}
GRAINS = {"day": "Daily", "week": "Weekly"}
SECTIONS = {"wait": "Caller wait", "steps": "Pipeline steps", "usage": "Cost and tokens", "failures": "Failures",
            "talking": "Talking over"}  # the trends' parts, one drawn at a time
PERCENTILE_HELP = {"p50": "typical (p50)", "p95": "slowest 5% (p95)", "p99": "slowest 1% (p99)"}

st.title("Cost & latency drift")

filters = require_filters()

left, middle, right = st.columns(3)
group = left.selectbox("Group by", list(GROUPS), format_func=GROUPS.__getitem__, key="drift_group")
grain = middle.radio("Show", list(GRAINS), format_func=GRAINS.__getitem__, horizontal=True, key="drift_grain")
percentile = right.selectbox("Latency", list(PERCENTILE_HELP), index=1, format_func=PERCENTILE_HELP.__getitem__,
                             key="drift_percentile",
                             help="p95: 95% of replies or steps are faster than this; the rest are the waits "
                                  "callers notice.")

thresholds = load_thresholds()
data.read_drift_ahead(filters, stages=st.session_state.get("drift_section", "wait") == "wait")
drift = data.drift_history(filters, group, thresholds)
history = drift.weeks
st.subheader("Weeks with drift")
quiet = drift_words.quiet_weeks(history)
if quiet:
    st.success(quiet, icon=":material/check_circle:")
opening = drift_words.opening_week(history)
chosen = st.radio("Week", range(len(history)), index=opening, format_func=lambda i: drift_words.strip_label(history[i]),
                  horizontal=True, key=f"drift_week_{filters.end}_{group}", label_visibility="collapsed",
                  help="Each week's flags; the page opens on the newest week that has any.")
charts.show(drift_words.history_chart(history, chosen), title="Things that drifted, week by week",
            caption=f"by {GROUPS[group].lower()} · {filters.describe()}", key="drift-history")
flags = history[chosen]
st.subheader(f"Drift in the week {flags.recent_start:%d %b} – {flags.end:%d %b %Y}")
st.caption(
    f"Each series' last {thresholds.recent_days} days against the {thresholds.baseline_days} days before "
    f"({flags.baseline_start:%d %b} – {flags.recent_start - timedelta(days=1):%d %b}), its last days against "
    f"the same days of those weeks, and its trend over {thresholds.trend_weeks} weeks; "
    f"{drift_words.series_count(flags)}."
)
sentences = drift_words.sentences(flags)
for sentence in sentences:
    st.warning(escape_markdown(sentence), icon=":material/warning:")
if not sentences:
    st.success("Nothing drifted this week: no series moved by more than the thresholds below allow.",
               icon=":material/check_circle:")

with st.expander("How a series gets flagged"):
    st.markdown(
        f"""A series is flagged when all of these hold:
- the change is at least **{thresholds.min_relative_change:.0%}** (latency, cost, tokens) or
  **{thresholds.min_rate_change * 100:.0f} point** (failure and talking-over shares);
- a statistical test says it is unlikely to be chance, with a **{thresholds.alpha:.0%}** chance of any false
  flag shared across every test run on the {flags.tested} series (Bonferroni);
- it holds against each of the {thresholds.baseline_weeks} weeks before on its own, all but at most one, so a
  past one-off bad week neither raises a flag once it is over nor hides a drift that came after it;
- each window has at least {thresholds.min_sample} values ({thresholds.min_tail_values} beyond a percentile's
  neighbour).

Three tests per series: **the week** against the {thresholds.baseline_weeks} before; **its last days**
(1 to 6) against the same weekdays before, for a change that started mid-week; **the trend** of the weekly
values over {thresholds.trend_weeks} weeks (the slope, Student's t), for a slow creep that still goes on.
Percentiles: {TEST_NAMES['p95']} (its standard error from the percentiles beside it); cost and tokens per
call, {TEST_NAMES['mean']}; failure and talking-over shares, {TEST_NAMES['rate']}. The range after each
change is its 95% confidence interval. Thresholds live in `warehouse/drift/thresholds.toml`; the methods
are in docs/drift.md."""
    )

# Built only when opened (a rerun): the closed table and its downloads cost every filter change.
with st.expander(f"Every series: {drift_words.series_count(flags)}", key="drift_every_series",
                 on_change="rerun") as every_series:
    if every_series.open:
        show_table(pl.DataFrame(drift_words.rows(flags.verdicts)), "drift tests",
                   f"week {flags.recent_start:%d %b} – {flags.end:%d %b %Y} · {filters.describe()}", hide_index=True,
                   width="stretch")

st.subheader("Trends")
section = st.radio("Trends", list(SECTIONS), format_func=SECTIONS.__getitem__, horizontal=True,
                   key="drift_section", label_visibility="collapsed",
                   help="One part of the trends at a time: the room looks at one, and the page redraws only it.")
trends = data.drift_trends(filters, grain, group, thresholds)
grain_words = "Daily" if grain == "day" else f"Weekly: the 7 days to {filters.end:%a %-d %b} and each 7 before"
markers = data.change_markers()
if filters.agents:
    markers = markers.filter(pl.col("agent").is_in(filters.agents))
st.caption("Dashed lines: a prompt version, a model or an end-of-turn setting went live (named on the wide charts; "
           "hover a line on the others).")


def chart(frame: pl.DataFrame, value: str, unit: str, title: str, legend: str, labelled: bool = False) -> None:
    if frame.is_empty():
        st.info(f"No data for {title.lower()} in this period.")
        return
    charts.show(drift_words.trend_by_group(frame, value, unit, title, markers, legend, labelled=labelled), title=title,
                caption=f"{grain_words} · by {legend.lower()} · {filters.describe()}", key=f"drift-{title}")


def latency_chart(measure: str, labelled: bool = False) -> None:
    label, unit, help_text = drift_words.MEASURES[measure]
    frame = trends.latency.filter(pl.col("measure") == measure)
    chart(frame, percentile, unit, f"{percentile} {label}", GROUPS[group], labelled)
    st.caption(help_text)


def caller_wait() -> None:
    latency_chart("reply", labelled=True)
    stages = data.wait_stages_by_week(filters)
    if stages.is_empty():
        st.info("No reply in this period has the spans to split its wait into stages.")
        return
    slowed = drift_words.stage_sentence(stages)
    st.markdown(escape_markdown(slowed) if slowed else "No stage of the caller's wait stood out in any week.")
    charts.show(drift_words.stage_chart(stages), title="The caller's wait, stage by stage",
                caption=f"Weekly medians · {filters.describe()}", key="drift-stages")
    st.caption("End of turn: until the agent decides the caller has finished; speech-to-text: until the words are "
               "text; model: until the reply is written; speech synthesis: until the caller hears it.")


def pipeline_steps() -> None:
    for pair in (STEP_KINDS[:2], STEP_KINDS[2:]):
        for column, kind in zip(st.columns(2), pair, strict=True):
            with column:
                latency_chart(kind)


def cost_and_tokens() -> None:
    for column, measure, value in zip(st.columns(2), ("cost", "tokens"), ("cost_per_call_usd", "tokens_per_call"),
                                      strict=True):
        label, unit, help_text = drift_words.MEASURES[measure]
        with column:
            chart(trends.usage, value, unit, label.capitalize(), GROUPS[group])
            st.caption(help_text)


def failures() -> None:
    by_tool, by_model = st.columns(2)
    with by_tool:
        chart(trends.tool_errors, "error_rate", "pct", "Failure rate per tool", "Tool")
    with by_model:
        chart(trends.model_errors, "error_rate", "pct", "Failure rate per model", "Model")
    st.caption(drift_words.MEASURES["errors"][2])


def talking_over() -> None:
    label, unit, help_text = drift_words.MEASURES["interruptions"]
    chart(trends.talking_over, "interruption_rate", unit, label.capitalize(), GROUPS[group], labelled=True)
    st.caption(help_text)


{"wait": caller_wait, "steps": pipeline_steps, "usage": cost_and_tokens, "failures": failures,
 "talking": talking_over}[section]()
