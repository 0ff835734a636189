"""A call's spans as a waterfall: one bar per step (speech-to-text, model, tool, speech) on the
call's clock, with slow and failed steps marked so they can be spotted from across a room, and
named in plain words ("Speech-to-text", "Model", "Tool: get_price", "Speech"), not span names.
Clicking a bar selects its step (the `step` selection, by span id) to open its detail."""

from __future__ import annotations

import altair as alt
import polars as pl

from present.charts import AXIS_PX, PALETTE
from present.formats import format_value
from present.markdown import escape_markdown
from warehouse.calls import SLOW_SPAN_MS
from warehouse.span_detail import SpanDetail

KIND_COLOURS = {"call": "#999999", "turn": PALETTE[4], "eot": PALETTE[6], "stt": PALETTE[1], "llm": PALETTE[0],
                "tool": PALETTE[2], "tts": PALETTE[3], "other": "#777777"}  # fmt: skip
KIND_NAMES = {"call": "Whole call", "turn": "Turn", "eot": "End of turn", "stt": "Speech-to-text", "llm": "Model",
              "tool": "Tool", "tts": "Speech", "other": "Other"}  # fmt: skip
SELECTION = "step"
FLAG_COLOUR = PALETTE[5]  # vermilion: reads as "problem" to colour-blind viewers too
ROW_PX = 26
# What the chart shows of each span. The values travel in the spec itself rather than as a data frame,
# so building the spec needs none of Altair's global data transformers, which Streamlit swaps while it
# draws a chart: the call view builds the next call's waterfall in a background thread (ui/call_view.py).
_SHOWN = ("span_id", "step", "kind_name", "start_s", "end_s", "seconds", "flag", "model", "cost_usd", "error_type")


def step_label() -> pl.Expr:
    """A span's step in words: its kind's name; a tool's with the tool's name; an unknown kind's span name."""
    kind = pl.col("kind")
    return (pl.when(kind == "tool").then(pl.format("Tool: {}", pl.coalesce("tool_name", "name", pl.lit("unnamed"))))
            .when(kind == "other").then(pl.coalesce("name", pl.lit("Other step")))
            .otherwise(kind.replace_strict(KIND_NAMES, default="Other")))


def steps(spans: pl.DataFrame) -> pl.DataFrame:
    """The call's steps in the waterfall's order: `row` (from 1), `span_id` and `step` ("7 Tool: get_price")."""
    return spans.with_row_index("row", offset=1).with_columns(step=pl.format("{} {}", pl.col("row"), step_label()))


def _rows(spans: pl.DataFrame) -> pl.DataFrame:
    return steps(spans).with_columns(
        kind_name=pl.col("kind").replace_strict(KIND_NAMES, default="Other"),
        start_s=pl.col("start_ms") / 1000,
        end_s=pl.col("end_ms") / 1000,
        seconds=pl.col("duration_ms") / 1000,
        flag=pl.when(pl.col("is_error")).then(pl.lit("✖ failed"))
        .when(pl.col("is_slow")).then(pl.lit(f"slow (> {SLOW_SPAN_MS / 1000:.0f} s)"))
        .otherwise(pl.lit("")),
    )


def waterfall(spans: pl.DataFrame) -> alt.LayerChart:
    """Bars from each span's start to its end (seconds since the call started), coloured by kind;
    failed and slow spans get a thick vermilion outline and a label after the bar."""
    data = _rows(spans)
    values = {"values": data.select(_SHOWN).to_dicts()}  # plain values: built without a data transformer
    y = alt.Y("step:N", sort=None, title=None, axis=alt.Axis(labelFontSize=AXIS_PX, labelLimit=260))
    x = alt.X("start_s:Q", title="Seconds since the call started",
              axis=alt.Axis(labelFontSize=AXIS_PX, titleFontSize=AXIS_PX))
    kinds = [k for k in KIND_NAMES.values() if k in set(data["kind_name"])]
    colour = alt.Color("kind_name:N", title="Step", legend=alt.Legend(orient="top", labelFontSize=AXIS_PX, title=None),
                       scale=alt.Scale(domain=kinds, range=[KIND_COLOURS[k] for k in KIND_NAMES
                                                            if KIND_NAMES[k] in kinds]))  # fmt: skip
    flagged = alt.datum.flag != ""
    pick = alt.selection_point(name=SELECTION, fields=["span_id"], on="click", clear="dblclick")
    bars = alt.Chart(values).mark_bar(height=ROW_PX - 8, cornerRadius=2, cursor="pointer").add_params(pick).encode(
        x=x,
        x2="end_s:Q",
        y=y,
        color=colour,
        stroke=alt.condition(flagged, alt.value(FLAG_COLOUR), alt.value(None)),
        strokeWidth=alt.condition(flagged, alt.value(4), alt.value(0)),
        tooltip=[
            alt.Tooltip("step:N", title="Step (click for its detail)"), alt.Tooltip("kind_name:N", title="Kind"),
            alt.Tooltip("model:N", title="Model"), alt.Tooltip("seconds:Q", title="Seconds", format=".2f"),
            alt.Tooltip("cost_usd:Q", title="Cost", format="$.4f"), alt.Tooltip("error_type:N", title="Error"),
        ],
    )  # fmt: skip
    labels = alt.Chart(values).transform_filter(flagged).mark_text(
        align="left", dx=6, fontSize=AXIS_PX, fontWeight="bold", color=FLAG_COLOUR
    ).encode(x="end_s:Q", y=y, text="flag:N")
    return alt.LayerChart(layer=[bars, labels]).properties(height=alt.Step(ROW_PX))


def step_facts(step: SpanDetail) -> str:
    """One Markdown line: when the step ran and for how long, whether it failed, and its model,
    tokens, cost and finish reason where it has them (model names and errors escaped)."""
    facts = [f"at {format_value(step.start_ms, 'ms')} into the call, took {format_value(step.duration_ms, 'ms')}"]
    if step.error:
        facts.append(f":red[**failed: {escape_markdown(step.error)}**]")
    if step.model:
        provider = f" ({escape_markdown(step.provider)})" if step.provider else ""
        facts.append(f"{escape_markdown(step.model)}{provider}")
    if step.input_tokens is not None or step.output_tokens is not None:
        facts.append(f"{format_value(step.input_tokens, 'count')} tokens in, "
                     f"{format_value(step.output_tokens, 'count')} out")
    if step.cost_usd is not None:
        facts.append(f"${step.cost_usd:.4f}")
    if step.finish_reasons:
        facts.append(f"stopped: {escape_markdown(step.finish_reasons)}")
    return " · ".join(facts)
