"""One call, as the weekly review and the failure-mode explorer show it: what happened (the
recording with the transcript following it, or the transcript alone), how it ran (span waterfall,
latency, cost), how it ended (the business outcome) and what the judge thought (score, failure
modes, rationale, evidence marked in the transcript).

Every piece of customer or model text goes through `escape_markdown` here, or travels as data to
the player component, which sets it as text; nothing here uses `unsafe_allow_html`."""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from present.call_header import Figure, call_figures, clock, conversation_figures
from present.charts import figure, for_room
from present.formats import format_value
from present.markdown import code_span, escape_markdown, plain_text
from present.waterfall import SELECTION, step_facts, steps, waterfall
from ui import data, projector
from ui.call_player import recording_of, show_player
from warehouse.calls import CallDetail
from warehouse.metrics import dead_air_threshold_ms
from warehouse.recordings import Playable, Refused
from warehouse.span_detail import Message, SpanDetail

SPEAKER_NAMES = {"agent": "Agent", "customer": "Caller"}
SPEAKER_COLORS = {"agent": "blue", "customer": "orange"}


_FIGURES_STYLE = """<style>
.cb-figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: 0.2rem 1.2rem;
  margin: 0 0 0.6rem 0; }
.cb-figures h4 { grid-column: 1 / -1; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em;
  color: #555; margin: 0.3rem 0 0 0; padding: 0; }
.cb-figure .label { font-size: 0.9rem; color: #333; line-height: 1.2; }
.cb-figure .value { font-size: 1.45rem; font-weight: 600; color: #111; line-height: 1.25; overflow-wrap: anywhere; }
</style>"""


def _figures_html(title: str, figures: list[Figure]) -> str:
    """A group of figures as a grid that wraps instead of cutting (our own words and numbers only,
    escaped anyway)."""
    cells = "".join(
        f'<div class="cb-figure" title="{html.escape(f.help)}"><div class="label">{html.escape(f.label)}</div>'
        f'<div class="value">{html.escape(f.value)}</div></div>' for f in figures)
    return f'<div class="cb-figures"><h4>{html.escape(title)}</h4>{cells}</div>'


def show_header(detail: CallDetail) -> None:
    """Who answered and when; how the call ended, its length, cost and outcome; and the
    conversation's own figures (waits, talking over, dead air, talk share)."""
    c = detail.call
    st.markdown(
        f"**{escape_markdown(c['agent'] or 'unknown agent')}** · prompt {escape_markdown(c['prompt_version'] or '—')}"
        f" · {escape_markdown(c['model'] or '—')} · {c['started_at']:%a %d %b %Y, %H:%M} UTC"
        f" · call {escape_markdown(c['call_id'])}"
    )
    st.html(_FIGURES_STYLE
            + _figures_html("The call", call_figures(c, detail.outcome))
            + _figures_html("The conversation", conversation_figures(detail.conversation, dead_air_threshold_ms())))


def show_judgement(detail: CallDetail) -> None:
    """The judge's pre-annotation, or why there is none."""
    j = detail.judgement
    if j is None:
        st.caption("No judge has looked at this call yet.")
        return
    if j["status"] != "ok":
        st.warning(f"The judge could not score this call: {escape_markdown(j['error'] or 'unknown error')}")
        return
    verdict = "—" if j["passed"] is None else ":green[**pass**]" if j["passed"] else ":red[**fail**]"
    labels = " ".join(code_span(label) for label in j["labels"]) or "no failure modes"
    with st.container(border=True, key="judge_box"):
        st.markdown(f"**Judge** ({escape_markdown(j['judge_name'])}): **{j['score']} / 5**, {verdict} · {labels}")
        if j.get("hallucination"):
            st.markdown(":red[**Hallucination flagged**]")
        if j.get("rationale"):
            st.markdown(escape_markdown(j["rationale"]))
        if j["evidence"]:
            st.caption("Evidence is marked ► in the transcript.")


def _evidence_by_turn(detail: CallDetail) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    evidence = (detail.judgement or {}).get("evidence") or []
    for item in evidence:
        if isinstance(item, dict) and isinstance(item.get("turn_index"), int):
            found.setdefault(item["turn_index"], []).append(str(item.get("quote") or ""))
    return found


def transcript_lines(detail: CallDetail) -> list[dict]:
    """Each turn as both transcripts show it: time, speaker, a note on a long silence before it,
    the words, and the judge's quotes from it. Plain text (controls and bidi overrides removed, so the
    player's own words beside them stay in order): each renderer escapes it its own way."""
    evidence = _evidence_by_turn(detail)
    lines, dead_air_ms = [], dead_air_threshold_ms()
    for turn in detail.turns.iter_rows(named=True):
        wait = turn["response_latency_ms"]
        lines.append({
            "side": "agent" if turn["speaker"] == "agent" else "customer",
            "who": SPEAKER_NAMES.get(turn["speaker"], plain_text(turn["speaker"])),
            "clock": clock(turn["offset_ms"]),
            "start": turn["offset_ms"] / 1000,
            "end": turn["end_ms"] / 1000,
            "note": f"after {format_value(wait, 'ms')} of silence" if wait and wait >= dead_air_ms else "",
            "text": plain_text(turn["text"]),
            "evidence": [plain_text(quote) for quote in evidence.get(turn["turn_index"], [])],
        })
    return lines


def _turn_markdown(line: dict) -> str:
    speaker = f":{SPEAKER_COLORS[line['side']]}[**{escape_markdown(line['who'])}**]"
    waited = f" · :red[{line['note']}]" if line["note"] else ""
    return f"`{line['clock']}` {speaker}{waited}  \n{escape_markdown(line['text'])}"


def show_transcript(lines: list[dict]) -> None:
    """The transcript on its own (no recording to play): turns the judge cited are boxed with the quote.
    The turns between boxes are one Markdown element, a paragraph each (every turn escaped on its own,
    so none can reach into the next): one element rather than one per turn is what the browser
    redraws when the review moves to the next call."""
    with st.container(key="transcript"):
        plain: list[str] = []
        for line in lines:
            if not line["evidence"]:
                plain.append(_turn_markdown(line))
                continue
            if plain:
                st.markdown("\n\n".join(plain))
                plain = []
            with st.container(border=True):
                st.markdown(_turn_markdown(line))
                for quote in line["evidence"]:
                    st.markdown(f"► **Judge's evidence:** “{escape_markdown(quote)}”")
        if plain:
            st.markdown("\n\n".join(plain))


def show_conversation(detail: CallDetail, key: str, large: bool) -> None:
    """The recording with the transcript following it; the transcript alone, with the reason, when
    there is no recording it may play."""
    if detail.turns.is_empty():
        st.caption("This call has no transcript.")
        return
    lines = transcript_lines(detail)
    playable = recording_of(detail)
    if isinstance(playable, Refused):
        st.caption(escape_markdown(playable.reason))
    if isinstance(playable, Playable) and show_player(detail, playable, lines, key, large):
        return
    show_transcript(lines)


def _waterfall_spec(call_id: str, room: bool) -> dict | None:
    """The call's waterfall as a Vega-Lite spec (room-sized in projector mode, as `projector.chart`
    makes it). Building it with Altair costs 0.1–0.3 s, most of what drawing a call costs, so it is
    built once per call, cached like a read, and built ahead for the review's next call (`read_ahead`)."""
    detail = data.call_detail(call_id)
    if detail is None or detail.spans.is_empty():
        return None
    chart = waterfall(detail.spans)
    return (for_room(chart) if room else figure(chart)).to_dict()  # tests/test_span_detail.py validates it


waterfall_spec = data.cached(_waterfall_spec, kept=data.KEPT_CALLS)


def read_ahead(call_id: str) -> None:
    """Read and build the call's view in the background (the review's next call), so that moving to
    it finds everything cached instead of waiting in front of the room."""
    room = projector.active()  # read here: the background thread has no page to ask
    data.warm_call(call_id, lambda: waterfall_spec(call_id, room))


@st.fragment
def show_steps(detail: CallDetail, key: str) -> None:
    """The waterfall, and below it the step clicked in it (or picked from the list) in full. A
    fragment: clicking a step reruns only this part, not the transcript, player or form."""
    if detail.spans.is_empty():
        st.caption("No spans were recorded for this call, so there is no step-by-step timing.")
        return
    slow, failed = int(detail.spans["is_slow"].sum()), int(detail.spans["is_error"].sum())
    st.markdown(f"**Steps** · {detail.spans.height} spans, {slow} slow, {failed} failed · click one to see it")
    spec = waterfall_spec(detail.call["call_id"], projector.active())
    event = st.vega_lite_chart(spec=spec, theme=None, width="stretch", on_select="rerun", key=f"{key}_waterfall")
    listed = steps(detail.spans)
    labels = dict(zip(listed["span_id"], listed["step"], strict=True))
    picker = f"{key}_step"
    clicked = _clicked_step(event)
    if clicked in labels and clicked != st.session_state.get(f"{picker}_clicked"):
        st.session_state[f"{picker}_clicked"] = st.session_state[picker] = clicked
    span_id = st.selectbox("See a step", list(labels), index=None, format_func=lambda s: plain_text(labels[s]),
                           placeholder="Click a bar above, or pick a step here", key=picker)
    if span_id is None:
        return
    step = data.step_detail(detail.call["call_id"], span_id)
    if step is None:
        st.caption("This step is no longer in the warehouse.")
        return
    show_step(step, labels[span_id])


def _clicked_step(event: object) -> str | None:
    """The span id of the bar clicked in the waterfall, if any."""
    points = (getattr(event, "selection", None) or {}).get(SELECTION) or []
    first = points[0] if isinstance(points, list) and points else None
    return first.get("span_id") if isinstance(first, dict) else None


def show_step(step: SpanDetail, label: str) -> None:
    """One step in full: timing, model, tokens and cost; what went in and what came out; the
    system prompt in force. Every piece of it is customer or model text, escaped."""
    with st.container(border=True, key="step_detail"):
        st.markdown(f"**{escape_markdown(label)}** · {step_facts(step)}")
        went_in, came_out = st.columns(2, gap="large")
        for column, title, messages in ((went_in, "What went in", step.input), (came_out, "What came out",
                                                                                step.output)):
            with column:
                st.markdown(f"**{title}**")
                if not messages:
                    st.caption("Nothing recorded." if title == "What went in" or not step.error
                               else "Nothing: the step failed.")
                for message in messages:
                    show_message(message)
        if step.system_prompt is not None:
            with st.expander(f"System prompt in force ({escape_markdown(step.system_prompt_source)})"):
                st.markdown(escape_markdown(step.system_prompt))


def show_message(message: Message) -> None:
    """A message with its role: JSON as an indented code block, words as escaped text."""
    if message.is_data:
        st.caption(escape_markdown(message.role))
        st.code(plain_text(message.text), language="json", wrap_lines=True)
        return
    st.markdown(f":gray[{escape_markdown(message.role)}]  \n{escape_markdown(message.text)}")


def show_call(detail: CallDetail, key: str, aside: Callable[[], None] | None = None, large: bool = False) -> None:
    """The whole call view. `aside` draws beside the transcript (the review's scoring form);
    `key` keeps this view's widgets apart from another call's; `large` is the presenter's layout:
    the form at the top right, beside the call's figures, so it and Save are on screen without
    scrolling on a 1280×720 projector."""
    if large and aside is not None:
        left, right = st.columns([3, 2], gap="large")
        with left:
            show_header(detail)
            show_judgement(detail)
            show_conversation(detail, key, large)
        with right:
            aside()
        show_steps(detail, key)
        return
    show_header(detail)
    left, right = st.columns([3, 2], gap="large")
    with left:
        show_conversation(detail, key, large)
    with right:
        show_judgement(detail)
        if aside is not None:
            aside()
    show_steps(detail, key)
