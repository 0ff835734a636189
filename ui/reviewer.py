"""Who is reviewing. With OIDC configured (an `[auth]` section in .streamlit/secrets.toml) it is
the signed-in identity; otherwise the reviewer types a name once per browser session. The name is
also kept in the URL, so a reload does not ask again."""

from __future__ import annotations

import streamlit as st

from present.markdown import escape_markdown


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or one that does not parse: no OIDC
        return False


def reviewer_picker() -> str | None:
    """Draw the reviewer control where called and return the reviewer's name, or None."""
    if _oidc_configured():
        if not st.user.get("is_logged_in"):
            st.button("Sign in to score", on_click=st.login, type="primary")
            return None
        name = st.user.get("name") or st.user.get("email")
        st.caption(f"Reviewing as **{escape_markdown(str(name))}**")
        return str(name)
    name = st.text_input("Reviewer", key="reviewer", placeholder="Your name", bind="query-params",
                         persist_state="session",
                         help="Every score is saved with this name. You pick it once per browser session.")
    return (name or "").strip() or None
