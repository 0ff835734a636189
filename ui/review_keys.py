"""The review's scoring keys: a Streamlit component (v2: a few lines of JavaScript in
`review_keys_frontend/keys.js`, shipped with the app, nothing fetched) that listens on the page and
clicks the scoring form's own controls, so a key does what a click does and, like a click, reruns only
the form. Streamlit's `shortcut=` works on buttons only; the score and verdict are segmented controls.

The keys are shown under the form (`KEYS`); they do nothing while the focus is in a text field. It also
keeps ← → moving between calls from a score or verdict option (which would take them to move its own
focus) and from a checkbox (which the navigation's shortcuts ignore)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

KEYS = (("1–5", "score"), ("P", "pass"), ("F", "fail"), ("N", "notes (Esc leaves them)"), ("S", "save and next"))

_listener = st.components.v2.component(
    "callboard_review_keys", js=(Path(__file__).with_name("review_keys_frontend") / "keys.js").read_text()
)


def scoring_keys() -> None:
    """Mount the key listener (once per page; later calls change nothing) and say which keys do what."""
    _listener(key="rv_keys")
    st.caption("Keys: " + " · ".join(f"`{key}` {what}" for key, what in KEYS))
