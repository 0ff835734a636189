"""A/B comparison: two prompt versions (or two models) side by side on the outcome and quality
metrics, with sample sizes, 95% ranges and an honest verdict."""

from __future__ import annotations

import polars as pl
import streamlit as st

from present import ab as ab_words
from present.markdown import escape_markdown, plain_text
from ui import data
from ui.filters import require_calls
from ui.tables import show_table
from warehouse.ab import ALPHA, COMPARED, MIN_SAMPLE, MIX_THRESHOLD
from warehouse.filters import Filters

st.title("Compare versions")

options = require_calls()

first_day, last_day = options.span
period = st.date_input("Period", value=(first_day, last_day), key="ab_period",
                       help="Calls from these days (UTC, both ends included) are compared.")
start, end = period if isinstance(period, tuple) and len(period) == 2 else (first_day, last_day)
mode = st.radio("Compare", ["Prompt versions", "Models"], horizontal=True, key="ab_mode")

if mode == "Prompt versions":
    versions = data.prompt_versions()
    choices = [f"{plain_text(a)} {plain_text(v)}" for a, v in versions.select("agent", "version").iter_rows()]
    if len(choices) < 2:
        st.info("Import at least two prompt versions to compare them: `python -m ingest prompts PATH`.")
        st.stop()
    pairs = dict(zip(choices, versions.select("agent", "version").iter_rows(), strict=True))
    left, right = st.columns(2)
    a = left.selectbox("A", choices, index=0, key="ab_prompt_a")
    b = right.selectbox("B", choices, index=1, key="ab_prompt_b")
    arm_a = Filters(start, end, agents=(pairs[a][0],), prompt_versions=(pairs[a][1],))
    arm_b = Filters(start, end, agents=(pairs[b][0],), prompt_versions=(pairs[b][1],))
else:
    if len(options.models) < 2:
        st.info("The calls so far used only one model.")
        st.stop()
    left, right = st.columns(2)
    a = left.selectbox("A", options.models, index=0, key="ab_model_a")
    b = right.selectbox("B", options.models, index=1, key="ab_model_b")
    arm_a, arm_b = Filters(start, end, models=(a,)), Filters(start, end, models=(b,))

result = data.compare(arm_a, arm_b)
st.caption(f"A: {escape_markdown(a)}, {result.calls_a:,} calls · B: {escape_markdown(b)}, {result.calls_b:,} calls · "
           f"{start:%d %b %Y} – {end:%d %b %Y}")
for note in ab_words.mix_notes(result):
    st.warning(note, icon=":material/warning:")
caption = f"A: {a} · B: {b} · {start:%d %b %Y} – {end:%d %b %Y}"
show_table(pl.DataFrame(ab_words.rows(result)), "comparison", caption, hide_index=True, width="stretch")
st.caption(
    f"A difference is called significant only when both have at least {MIN_SAMPLE} calls behind the figure and a "
    f"test says it is unlikely to be chance (p under {ALPHA / len(COMPARED):.2g}: a {ALPHA:.0%} chance of a false "
    f"'significant' shared across the {len(COMPARED)} metrics). Ranges are 95% confidence intervals: Wilson for "
    "shares, normal for NPS and the eval score. Rates are over calls whose outcome or judgement is recorded (n)."
)
with st.expander("Traffic mix of the two groups"):
    st.caption(f"A note appears above when the mixes differ by more than {MIX_THRESHOLD:.0%} of calls.")
    for key, frame in result.mix.items():
        show_table(frame.rename({"value": ab_words.MIX_WORDS[key].capitalize(), "share_a": "A", "share_b": "B"}),
                   f"traffic mix by {ab_words.MIX_WORDS[key]}", caption, hide_index=True,
                   column_config={"A": st.column_config.NumberColumn(format="percent"),
                                  "B": st.column_config.NumberColumn(format="percent")})
