"""Run a CLI's `main` in the test's own process, as a subprocess would see it: exit code, stdout,
stderr. Starting a Python per command cost a second or more each; the one-line-error promise is the
same either way (an unexpected exception escapes `main` and fails the test with its traceback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Ran:
    """What a shell would see: the exit code and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def run(main: Callable[[list[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> Ran:
    """`main(argv)`, with argparse's own exits (a command line it cannot read) turned into their code."""
    try:
        code = main(argv)
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)
