"""Turn what the user typed (files, folders, globs) into the list of files to read."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from ingest.errors import IngestError

_GLOB_CHARS = set("*?[")


def expand_paths(arguments: Sequence[str | Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Every file named, every file under a folder whose name ends with one of `suffixes`, and
    every match of a glob, in sorted order without duplicates. Nothing found is a user mistake."""
    found: list[Path] = []
    for argument in arguments:
        text = str(argument)
        if _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                raise IngestError(f"No file matches {text}.")
            found.extend(matches)
        elif Path(text).is_dir():
            inside = sorted(p for p in Path(text).rglob("*") if p.is_file() and p.name.endswith(suffixes))
            if not inside:
                raise IngestError(f"The folder {text} holds no {' / '.join(suffixes)} file.")
            found.extend(inside)
        elif Path(text).is_file():
            found.append(Path(text))
        else:
            raise IngestError(f"No such file or folder: {text}")
    return list(dict.fromkeys(p.resolve() for p in found))
