"""Customer text made safe to show: the one place that decides how anything a caller, a customer's
span data, a model or a reviewer wrote (names, transcripts, notes, failure modes, URLs, call ids)
reaches a page or a Markdown file. It is shown exactly as written and can do nothing else:

- no markup: every character Markdown, HTML, LaTeX or Streamlit's own directives (`:red[…]`,
  `:emoji:`) could act on is backslash-escaped, so it can neither format text nor load an image;
- no links: a bare web or e-mail address gets an invisible WORD JOINER after its `://`, `www` or
  `@`. Backslash escapes do not stop GitHub-flavoured Markdown's autolinking (it finds addresses in
  the text after the escapes are resolved), a broken address does;
- no reordering: the bidi embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069)
  and other control characters (ANSI escapes, C0, C1) are removed (warehouse/terminal.py, as for
  the CLIs), and a line holding right-to-left letters is wrapped in FSI … PDI, so it cannot
  reverse the app's own words beside it.

`plain_text` does the last part only, for places shown as text rather than Markdown (select boxes,
table cells). Copying an address from the page keeps the invisible joiner; that is the price of a
link nobody meant."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

from warehouse.terminal import without_controls

WORD_JOINER = "\u2060"
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"

_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$&:^=\"'/@%])")
_RIGHT_TO_LEFT = frozenset(("R", "AL", "AN"))
_AUTOLINK = re.compile(r"(?i)(://|\bwww(?=\.)|@)")


def _isolated(line: str) -> str:
    if line.isascii() or not any(unicodedata.bidirectional(ch) in _RIGHT_TO_LEFT for ch in line):
        return line
    return f"{FIRST_STRONG_ISOLATE}{line}{POP_DIRECTIONAL_ISOLATE}"


def _unlinked(line: str) -> str:
    return _AUTOLINK.sub(lambda found: found[0][0] + WORD_JOINER + found[0][1:], line)


def plain_text(text: object) -> str:
    """Customer text for a place Streamlit shows as plain text: controls removed, each line with
    right-to-left letters isolated."""
    if text is None:
        return ""
    return "\n".join(_isolated(without_controls(line)) for line in str(text).splitlines())


def escape_markdown(text: object) -> str:
    """Customer text as literal Markdown (also for widget labels and `help=` tooltips): escaped,
    unlinked, isolated; line breaks stay line breaks."""
    if text is None or text == "":
        return ""
    lines = plain_text(text).split("\n")
    return "  \n".join(_ACTIVE.sub(r"\\\1", _unlinked(line)) for line in lines)


def one_line(text: object) -> str:
    """`escape_markdown` on one line (a table cell, a list item): line breaks become spaces."""
    return escape_markdown(" ".join(str(text).splitlines()) if text is not None else None)


def code_span(text: object) -> str:
    """Customer text as inline code: Markdown escapes do not work inside backticks, so backticks
    and line breaks, the only characters that could end the span, are dropped instead."""
    return "`" + plain_text(text).replace("`", "").replace("\n", " ") + "`"


def plain_table(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` for a grid that shows its cells as text (`st.dataframe`): `plain_text` on every text
    cell and every text in a list cell, so no cell can reorder the ones beside it."""
    texts = [c for c, kind in frame.schema.items() if kind == pl.String]
    lists = [c for c, kind in frame.schema.items() if kind == pl.List(pl.String)]
    return frame.with_columns(
        *(pl.col(c).map_elements(plain_text, return_dtype=pl.String) for c in texts),
        *(pl.col(c).map_elements(lambda xs: [plain_text(x) for x in xs], return_dtype=pl.List(pl.String))
          for c in lists),
    )
