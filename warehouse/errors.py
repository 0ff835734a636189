"""One root for every error a user can cause, and the one way each entry point handles it.

A `CallboardError` is a mistake or a condition the person at the keyboard can act on (a file that is
not there, a judge without its key, a warehouse another process holds). Its `title` is one sentence
meant for them, shown as is: a CLI prints it on one line and exits 2, the app shows it in a box.
Anything else is a bug and keeps its traceback, so it is found and fixed rather than read as advice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from typing import TextIO

from warehouse.terminal import terminal_text

USER_ERROR_EXIT = 2  # as argparse exits for a command line it cannot read


class CallboardError(Exception):
    """An error a user can act on; `title` says what happened and what to do, in one line."""

    def __init__(self, title: str) -> None:
        self.title = " ".join(str(title).split())
        super().__init__(self.title)


def run_cli(command: Callable[[], int], err: TextIO | None = None) -> int:
    """Run one CLI command: a `CallboardError` becomes its title on one line of `err` (stderr by
    default) and exit code 2; any other exception propagates with its traceback. Whatever the
    command prints goes through `terminal_text`: data cannot send the terminal escape sequences."""
    with redirect_stdout(terminal_text(sys.stdout)), redirect_stderr(terminal_text(sys.stderr)):
        try:
            return command()
        except CallboardError as error:
            print(f"error: {error.title}", file=terminal_text(err or sys.stderr))
            return USER_ERROR_EXIT
