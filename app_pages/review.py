"""Weekly review: draw a sample of calls, walk through them on a shared screen, score each one."""

from __future__ import annotations

from functools import partial

import streamlit as st

from present.markdown import escape_markdown
from ui import data
from ui.call_view import read_ahead, show_call
from ui.presenter import navigation_bar, position, presenter_style
from ui.review_form import review_aside
from ui.session_picker import new_session_form, session_list

session_id = st.query_params.get("session")
if not session_id:
    st.title("Weekly review")
    st.caption("Draw random production calls, go through them together, score them and decide what to fix.")
    new_session_form(created_by=None)
    session_list()
    st.stop()

session = data.get_session(session_id)
if session is None:
    st.error(f"There is no review session '{escape_markdown(session_id)}'. It may have been made on another warehouse.")
    if st.button("Back to the sessions"):
        del st.query_params["session"]
        st.rerun()
    st.stop()

presenter_style()
at = position(session)
call_id = session.call_ids[at - 1]
with st.container(key="presenter"):
    navigation_bar(session, at)
    if not session.is_open:
        st.info("This session is closed. You can still look at the calls; reopen it on the summary page to score.")
    detail = data.call_detail(call_id)
    if detail is None:
        st.warning(f"Call {escape_markdown(call_id)} is no longer in the warehouse.")
        st.stop()
    show_call(detail, key=f"review_{session.session_id}", aside=partial(review_aside, session, at, call_id),
              large=True)
    if at < len(session.call_ids):
        read_ahead(session.call_ids[at])  # the next call, read before "Save and next" asks for it
