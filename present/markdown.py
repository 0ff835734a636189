"""Customer text made safe for `st.markdown`: every character Markdown, HTML, LaTeX or Streamlit's
own directives (`:red[…]`, `:emoji:`) could act on is backslash-escaped, so what a caller said is
shown exactly as said and can neither inject markup nor load an image."""

from __future__ import annotations

import re

_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:^=\"'/@%])")


def escape_markdown(text: str | None) -> str:
    """`text` as literal Markdown; line breaks stay line breaks."""
    if not text:
        return ""
    escaped = _ACTIVE.sub(r"\\\1", text)
    return "  \n".join(line for line in escaped.splitlines())


def code_span(text: str | None) -> str:
    """`text` as inline code: Markdown escapes do not work inside backticks, so backticks and line
    breaks, the only characters that could end the span, are dropped instead."""
    return "`" + (text or "").replace("`", "").replace("\n", " ") + "`"
