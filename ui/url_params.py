"""The URL's parameters, read so that no link can break a page. A shared link can carry anything: a
typo, a session from another warehouse, a judge version since removed. A value a page cannot use is
left out, the page shows what it shows without it, and says so in one plain sentence."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import streamlit as st

from present.markdown import escape_markdown


def say(message: str) -> None:
    """Tell the reader what the link asked for that the page cannot show (Markdown; escape what
    came from the URL)."""
    st.info(message, icon=":material/link_off:")


def quoted(value: str) -> str:
    """A value from the URL, quoted and escaped for a sentence."""
    return f"“{escape_markdown(value)}”"


def known(values: Iterable[str], options: Collection[str], what: str) -> list[str]:
    """The `values` among `options`, in order; any other is said and left out."""
    values = list(values)
    unknown = [value for value in values if value not in options]
    if unknown:
        left_out = "it is left out" if len(unknown) == 1 else "they are left out"
        say(f"The link asks for {what} {', '.join(map(quoted, unknown))}, which this page cannot show (not in this "
            f"warehouse, or not in the period and filters): {left_out}.")
    return [value for value in values if value in options]


def one_of(name: str, options: Collection[str], what: str) -> str | None:
    """The URL's `name` when it is one of `options`; None when it is absent or unknown (said)."""
    value = st.query_params.get(name)
    if value is None:
        return None
    return next(iter(known([value], options, what)), None)


def number(name: str, what: str, lowest: float, highest: float) -> float | None:
    """The URL's `name` as a number in [lowest, highest]; None when absent, and when not such a
    number (said)."""
    text = st.query_params.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not lowest <= value <= highest:
        say(f"The link asks for {what} {quoted(text)}, which is not a number from {lowest:g} to {highest:g}: "
            "it is left out.")
        return None
    return value


def remember(values: dict[str, str | tuple[str, ...]]) -> None:
    """Write these parameters into the URL (an empty value removes its parameter), leaving the
    others alone, so a copied link reproduces the view."""
    for name, value in values.items():
        if value:
            st.query_params[name] = list(value) if isinstance(value, tuple) else value
        elif name in st.query_params:
            del st.query_params[name]
