"""A/B comparison: two prompt versions (or two models) side by side on the outcome, quality, cost and
latency metrics, like with like (within the sidebar's period and agents, agent by agent), with
sample sizes, 95% ranges and an honest verdict."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import polars as pl
import streamlit as st

from present import ab as ab_words
from present.markdown import escape_markdown, plain_text
from ui import data
from ui.filters import require_filters
from ui.tables import show_table
from warehouse.ab import MIX_THRESHOLD, around_switch
from warehouse.filters import Filters

WINDOWS = (7, 14, 28)  # days either side of a switch the page offers

st.title("Compare versions")

scope = require_filters()
mode = st.radio("Compare", ["Prompt versions", "Models"], horizontal=True, key="ab_mode")

if mode == "Prompt versions":
    versions = data.prompt_versions()
    if scope.agents:
        versions = versions.filter(pl.col("agent").is_in(scope.agents))
    choices = [f"{plain_text(a)} {plain_text(v)}" for a, v in versions.select("agent", "version").iter_rows()]
    if len(choices) < 2:
        st.info("Two prompt versions are needed (of the agents picked in the sidebar). Import them with "
                "`python -m ingest prompts PATH`.")  # fmt: skip
        st.stop()
    pairs = dict(zip(choices, versions.select("agent", "version").iter_rows(), strict=True))
    left, right = st.columns(2)
    a = left.selectbox("A", choices, index=0, key="ab_prompt_a")
    b = right.selectbox("B", choices, index=1, key="ab_prompt_b")
    arm_a = Filters(scope.start, scope.end, agents=(pairs[a][0],), prompt_versions=(pairs[a][1],), models=scope.models)
    arm_b = Filters(scope.start, scope.end, agents=(pairs[b][0],), prompt_versions=(pairs[b][1],), models=scope.models)
else:
    models = data.filter_options().models
    if len(models) < 2:
        st.info("The calls so far used only one model.")
        st.stop()
    left, right = st.columns(2)
    a = left.selectbox("A", models, index=0, key="ab_model_a")
    b = right.selectbox("B", models, index=1, key="ab_model_b")
    arm_a, arm_b = (Filters(scope.start, scope.end, agents=scope.agents, prompt_versions=scope.prompt_versions,
                            models=(m,)) for m in (a, b))  # fmt: skip
if a == b:
    st.info("Pick two different versions to compare.")
    st.stop()

result = data.compare(arm_a, arm_b)
window = None
shown = (scope.start, scope.end)
if result.calls_a and result.calls_b:
    if result.switch_day is not None and not result.refusal:
        days = st.segmented_control("Days compared",
                                    ["The whole period", *(f"{n} days either side" for n in WINDOWS)],
                                    default="The whole period", key="ab_window",
                                    help=f"The arms ran one after the other, switching on {result.switch_day:%d %b}. "
                                    "Fewer days around the switch leave less else that changed.")  # fmt: skip
        if days and days != "The whole period":
            window = int(days.split()[0])
            arm_a, arm_b = (around_switch(arm, result.switch_day, window) for arm in (arm_a, arm_b))
            result = data.compare(arm_a, arm_b)
            shown = (arm_a.start, arm_a.end)
else:  # the period holds one arm only: open on days that hold both, around their switch
    ran = data.when_arms_ran(arm_a, arm_b, *data.filter_options().span)
    if ran.window(WINDOWS[-1]) is not None:
        missing = "B" if result.calls_a else "A"
        window = st.segmented_control("Days compared", WINDOWS, default=WINDOWS[-1], key="ab_around",
                                      format_func=partial(ab_words.window_label, ran),
                                      help="The sidebar's period holds calls of one arm only, so the days "
                                      "compared are days that hold both.") or WINDOWS[-1]  # fmt: skip
        shown = ran.window(window) or shown
        st.info(ab_words.outside_period_note(missing, scope, ran, window), icon=":material/date_range:")
        arm_a, arm_b = (replace(arm, start=shown[0], end=shown[1]) for arm in (arm_a, arm_b))
        result = data.compare(arm_a, arm_b)
if refusal := result.refusal:
    st.warning(escape_markdown(refusal))
    st.stop()

period = f"{shown[0]:%d %b %Y} – {shown[1]:%d %b %Y}"
st.caption(f"A: {escape_markdown(a)}, {result.calls_a:,} calls · B: {escape_markdown(b)}, {result.calls_b:,} calls · "
           f"{period}")  # fmt: skip
notes = [ab_words.period_note(result, window), ab_words.agent_note(result),
         *ab_words.mix_notes(result, "model" if mode == "Models" else None)]  # fmt: skip
for note in filter(None, notes):
    st.warning(escape_markdown(note), icon=":material/warning:")
caption = f"A: {a} · B: {b} · {period}"
show_table(pl.DataFrame(ab_words.rows(result)), "comparison", caption, wrap=True, hide_index=True, width="stretch",
           column_config={"A: n": st.column_config.NumberColumn(format="localized"),
                          "B: n": st.column_config.NumberColumn(format="localized")})  # fmt: skip
st.caption(ab_words.method_note(result))
with st.expander("Each arm's 95% range, and the traffic mix of the two groups"):
    show_table(pl.DataFrame(ab_words.arm_ranges(result)), "each arm's range", caption, wrap=True, hide_index=True)
    st.caption(f"A note appears above when the mixes differ by more than {MIX_THRESHOLD:.0%} of calls.")
    for key, frame in result.mix.items():
        show_table(frame.rename({"value": ab_words.MIX_WORDS[key].capitalize(), "share_a": "A", "share_b": "B"}),
                   f"traffic mix by {ab_words.MIX_WORDS[key]}", caption, hide_index=True,
                   column_config={"A": st.column_config.NumberColumn(format="percent"),
                                  "B": st.column_config.NumberColumn(format="percent")})  # fmt: skip
