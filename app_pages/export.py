"""Export: the quarterly strategy deck, built on the server with the same figures as the pages,
with a progress bar while it builds and a download button when it is ready."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from export.deck import DeckRefused, DeckRequest, Quote, build, quote_lines, quote_text
from export.quarter import Quarter
from export.redaction import SETTING, enabled
from present.markdown import escape_markdown, plain_text
from ui.filters import require_calls

st.title("Export")
st.caption("A PowerPoint deck for the quarterly strategy review: the owned metrics against the quarter before, "
           "failure modes, the weekly reviews, drift and prompt changes. Every chart and table in the app also has "
           "its own Download button.")

options = require_calls()

first_day, last_day = options.span
quarters, q = [], Quarter.of(last_day)
while q.end >= first_day:
    quarters.append(q)
    q = q.previous()
left, right = st.columns(2)
quarter = left.selectbox("Quarter", quarters, format_func=lambda q: q.label, key="deck_quarter")
agents = right.multiselect("Agent", options.agents, placeholder="All", key="deck_agents",
                           help="Only these voice agents' calls.")
template = st.file_uploader("Company template (optional)", type=["pptx"], key="deck_template",
                            help="A .pptx with your branding: the deck uses its slide master and layouts.")
with st.expander("Quote a caller (optional)"):
    st.caption("Transcripts stay out of the deck unless you pick a line here. Phone numbers, e-mail addresses and "
               "card numbers are masked.")
    call_id = st.text_input("Call", placeholder="Call id, as on the review page", key="deck_quote_call").strip()
    quotes: tuple[Quote, ...] = ()
    if call_id:
        try:
            lines = quote_lines(call_id)
        except DeckRefused as refused:
            st.error(escape_markdown(str(refused)))
        else:
            turn = st.selectbox("Line", list(lines), format_func=lambda t: plain_text(lines[t]), key="deck_quote_turn",
                                index=None, placeholder="Pick the line to quote, as the transcript shows it")
            if turn is not None:
                said = quote_text(Quote(call_id, turn))
                st.markdown(f"{escape_markdown(said.speaker)}: “{escape_markdown(said.text)}”")
                quotes = (Quote(call_id, turn),)
if not enabled():
    st.warning(f"PII masking is off ({SETTING}=0): the deck may show phone numbers, e-mails and card numbers.")

if st.button("Build the deck", type="primary", key="deck_build"):
    with st.status(f"Building the {quarter.label} deck…", expanded=True) as status, \
            tempfile.TemporaryDirectory() as folder:
        bar = st.progress(0.0)
        path = None
        if template is not None:
            path = Path(folder) / "template.pptx"
            path.write_bytes(template.getvalue())
        try:
            pptx = build(DeckRequest(quarter, tuple(agents), path, quotes),
                         lambda step, done: bar.progress(done, text=step))
        except DeckRefused as refused:
            status.update(label=escape_markdown(str(refused)), state="error")
        else:
            st.session_state["deck"] = (f"callboard-{quarter}.pptx", pptx)
            status.update(label=f"The {quarter.label} deck is ready.", state="complete", expanded=False)

if "deck" in st.session_state:
    name, pptx = st.session_state["deck"]
    st.download_button(f"Download {name}", pptx, file_name=name, type="primary", key="deck_download",
                       mime="application/vnd.openxmlformats-officedocument.presentationml.presentation")
