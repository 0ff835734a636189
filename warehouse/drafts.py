"""Unsaved review drafts, kept on disk beside the warehouse so that nothing typed is lost on a
rerun, a page switch, a reload or a server restart.

A draft is keyed by session and call, not by browser: a reload starts a new Streamlit session, and
the shared screen has one form per call. Files rather than a table, because a draft is written on
every change and the warehouse file is shared with ingest and judge runs (docs/architecture.md):
a keystroke should not wait for their turn."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from warehouse.db import warehouse_path
from warehouse.errors import CallboardError


def _file(session_id: str, call_id: str) -> Path:
    name = hashlib.sha256(f"{session_id}\0{call_id}".encode()).hexdigest()[:32]
    return warehouse_path().with_suffix(".drafts") / f"{name}.json"


def load(session_id: str, call_id: str) -> dict | None:
    try:
        return orjson.loads(_file(session_id, call_id).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def save(session_id: str, call_id: str, draft: dict) -> None:
    """Write atomically (a temporary file, then a rename), so a crash never leaves half a draft."""
    path = _file(session_id, call_id)
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        (path.parent / ".gitignore").write_text("*\n")  # drafts are nobody's source
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(orjson.dumps(draft))
    partial.replace(path)


def discard(session_id: str, call_id: str) -> None:
    _file(session_id, call_id).unlink(missing_ok=True)


def not_saved(error: CallboardError) -> str:
    """What a failed save tells the person who pressed Save. A refusal already says what to fix;
    anything else (a busy warehouse) also says that what they typed is safe."""
    if error.title.startswith("Not saved"):
        return error.title
    return f"Not saved: {error.title} What you typed is kept as a draft; press Save again."
