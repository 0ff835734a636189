"""Text for a terminal or a page, with nothing in it that the terminal or the browser would act on.

Names, transcripts, error messages from providers and refused records come from customers. Printed
as they are, an ANSI or OSC escape sequence in them could recolour or clear the screen, retitle the
window or plant a hyperlink, and a bidi override could reverse the words printed beside it. So every
CLI's output passes through `terminal_text` (installed by `warehouse.errors.run_cli`), and the app's
escaping (present/markdown.py) starts from the same `without_controls`."""

from __future__ import annotations

import re
from typing import Any, TextIO, cast

_UNSHOWABLE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # ANSI CSI sequences (colours, cursor moves, clearing)
    r"|\x1b[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks), DCS, SOS, PM, APC, with their end
    r"|\x1b[ -/]*[0-~]?"  # any other escape sequence
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # the remaining C0 and C1 controls (tab and line feed stay)
    r"|[\u202a-\u202e\u2066-\u2069]"  # bidi embeddings, overrides and isolates
)


def without_controls(text: str) -> str:
    """`text` with escape sequences, control characters and bidi controls removed; tabs and line
    feeds stay."""
    return _UNSHOWABLE.sub("", text)


class TerminalText:
    """A text stream that writes everything through `without_controls`. One exception: a carriage
    return that starts a write is kept, so a progress bar can redraw its line (data printed after a
    line feed is at the start of a line anyway, where a carriage return moves nothing)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        redraw = "\r" if text.startswith("\r") else ""
        return self.stream.write(redraw + without_controls(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno…: the stream's own
        return getattr(self.stream, name)


def terminal_text(stream: TextIO) -> TextIO:
    """`stream`, its writes passed through `without_controls` (once, however often it is wrapped)."""
    return stream if isinstance(stream, TerminalText) else cast(TextIO, TerminalText(stream))
