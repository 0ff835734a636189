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
flags = data.drift_flags(filters, group, thresholds)
st.subheader(f"Drift in the week {flags.recent_start:%d %b} – {flags.end:%d %b %Y}")
st.caption(
    f"Each series' last {thresholds.recent_days} days against the {thresholds.baseline_days} days before "
    f"({flags.baseline_start:%d %b} – {flags.recent_start - timedelta(days=1):%d %b}); "
    f"{drift_words.series_count(flags)}. Pick another week with the period's end day in the sidebar."
)
sentences = drift_words.sentences(flags)
for sentence in sentences:
    st.warning(escape_markdown(sentence), icon=":material/warning:")
if not sentences:
    st.success("Nothing drifted: no series moved by more than the thresholds below allow.",
               icon=":material/check_circle:")

with st.expander("How a series gets flagged"):
    st.markdown(
        f"""A series is flagged when all of these hold:
- the change is at least **{thresholds.min_relative_change:.0%}** (latency, cost, tokens) or
  **{thresholds.min_rate_change * 100:.0f} point** (failure rates);
- a statistical test says it is unlikely to be chance, with a **{thresholds.alpha:.0%}** chance of any false
  flag shared across all {flags.tested} series (each needs p under {thresholds.alpha / max(flags.tested, 1):.2g});
- it holds against each of the {thresholds.baseline_days // thresholds.recent_days} weeks before on its own, so
  a past one-off bad week neither raises a flag once it is over nor stands in for a drift;
- each week has at least {thresholds.min_sample} values ({thresholds.min_tail_values} beyond a percentile).

Tests: typical latency (p50), {TEST_NAMES['p50']}; slow tail (p95, p99), the share of values above the
baseline's percentile (two-proportion z); cost and tokens per call, {TEST_NAMES['mean']}; failure rates,
{TEST_NAMES['rate']}. The range after each change is its 95% confidence interval. Thresholds live in
`warehouse/drift/thresholds.toml`."""
    )
with st.expander(f"Every series: {drift_words.series_count(flags)}"):
    show_table(pl.DataFrame(drift_words.rows(flags.verdicts)), "drift tests",
               f"week {flags.recent_start:%d %b} – {flags.end:%d %b %Y} · {filters.describe()}", hide_index=True,
               width="stretch")

trends = data.drift_trends(filters, grain, group)
markers = data.change_markers()
if filters.agents:
    markers = markers.filter(pl.col("agent").is_in(filters.agents))
st.caption("Dashed lines: a prompt version or a model went live.")


def chart(frame: pl.DataFrame, value: str, unit: str, title: str, legend: str) -> None:
    if frame.is_empty():
        st.info(f"No data for {title.lower()} in this period.")
        return
    charts.show(drift_words.trend_by_group(frame, value, unit, title, markers, legend), title=title,
                caption=f"{GRAINS[grain]} · by {legend.lower()} · {filters.describe()}", key=f"drift-{title}")


def latency_chart(measure: str) -> None:
    label, unit, help_text = drift_words.MEASURES[measure]
    frame = trends.latency.filter(pl.col("measure") == measure)
    chart(frame, percentile, unit, f"{percentile} {label}", GROUPS[group])
    st.caption(help_text)


st.subheader("Reply time")
latency_chart("reply")
st.subheader("Pipeline steps")
for pair in (STEP_KINDS[:2], STEP_KINDS[2:]):
    for column, kind in zip(st.columns(2), pair, strict=True):
        with column:
            latency_chart(kind)

st.subheader("Cost and tokens")
cost, tokens = st.columns(2)
for column, measure, value in ((cost, "cost", "cost_per_call_usd"), (tokens, "tokens", "tokens_per_call")):
    label, unit, help_text = drift_words.MEASURES[measure]
    with column:
        chart(trends.usage, value, unit, label.capitalize(), GROUPS[group])
        st.caption(help_text)

st.subheader("Failures")
by_tool, by_model = st.columns(2)
with by_tool:
    chart(trends.tool_errors, "error_rate", "pct", "Failure rate per tool", "Tool")
with by_model:
    chart(trends.model_errors, "error_rate", "pct", "Failure rate per model", "Model")
st.caption(drift_words.MEASURES["errors"][2])
