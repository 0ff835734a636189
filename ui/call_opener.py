"""Open one call of a list in the call view below it: the row clicked in the list, or the call
picked under "Open a call" (the keyboard's way, and the one a test can drive). The open call is in
the URL (`call`), so a shared link opens it again when it is still in the list.

"Open a call" lists the first `OFFERED` calls of the list (and the open one): the browser spent
about 0.5 s of its main thread per filter change on a list of 10,000 ids (the Failure modes page
over 90 days of the demo), which nobody scrolls; the table above holds them all."""

from __future__ import annotations

import streamlit as st

from present.markdown import escape_markdown, plain_text
from ui import data, url_params
from ui.call_view import show_call

OFFERED = 200


def open_call(ids: list[str], clicked: str | None, key: str) -> None:
    """Show the call view of the call picked among `ids` (a new click in the list picks it), or
    end the page when none is. `key` names the picker; the view's widgets take `{key}_view`."""
    if clicked and clicked != st.session_state.get(f"{key}_clicked"):
        st.session_state[f"{key}_clicked"] = st.session_state[key] = clicked
    if key not in st.session_state:  # the page just opened: a shared link may name the call
        st.session_state[key] = url_params.one_of("call", ids, "call")
    elif st.session_state[key] not in ids:
        st.session_state[key] = None
    offered = ids[:OFFERED]
    if st.session_state[key] is not None and st.session_state[key] not in offered:
        offered.append(st.session_state[key])
    more = f"The first {OFFERED:,} of {len(ids):,} calls; click a row above for any." if len(ids) > OFFERED else None
    call_id = st.selectbox("Open a call", offered, format_func=plain_text,
                           placeholder="Pick a call, or click a row above", key=key, help=more)
    if call_id is None:
        url_params.remember({"call": ""})
        st.stop()
    st.query_params["call"] = call_id
    detail = data.call_detail(call_id)
    if detail is None:
        st.warning(f"Call {escape_markdown(call_id)} is no longer in the warehouse.")
        st.stop()
    show_call(detail, key=f"{key}_view")
