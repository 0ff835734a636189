"""Unsaved review drafts, kept on disk beside the warehouse so that nothing typed is lost on a
rerun, a page switch, a reload or a server restart.

A draft belongs to one reviewer and one call of one session (a reload starts a new Streamlit
session, so the browser cannot be the key): another reviewer's browser never sees it, and a
browser with no reviewer name keeps what it typed in its own Streamlit session only (ui/review_form.py),
never here, so no one can pick up and save someone else's unsaved notes. The session's decisions
are the one draft the whole room shares (`ROOM`): they are typed together at the end of the meeting.

Files rather than a table, because a draft is written on every change and the warehouse file is
shared with ingest and judge runs (docs/architecture.md): a keystroke should not wait for their turn."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from warehouse.db import warehouse_path
from warehouse.errors import CallboardError

ROOM = ""  # the owner of a draft the room shares (a session's decisions); never a reviewer's name


def _file(session_id: str, item: str, owner: str) -> Path:
    name = hashlib.sha256(f"{session_id}\0{item}\0{owner}".encode()).hexdigest()[:32]
    return warehouse_path().with_suffix(".drafts") / f"{name}.json"


def load(session_id: str, item: str, owner: str) -> dict | None:
    """`owner`'s draft of `item` (a call id, or the decisions) in the session, if any."""
    try:
        return orjson.loads(_file(session_id, item, owner).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def save(session_id: str, item: str, owner: str, draft: dict) -> None:
    """Write atomically (a temporary file, then a rename), so a crash never leaves half a draft."""
    path = _file(session_id, item, owner)
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        (path.parent / ".gitignore").write_text("*\n")  # drafts are nobody's source
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(orjson.dumps(draft))
    partial.replace(path)


def discard(session_id: str, item: str, owner: str) -> None:
    _file(session_id, item, owner).unlink(missing_ok=True)


def not_saved(error: CallboardError) -> str:
    """What a failed save tells the person who pressed Save. A refusal already says what to fix;
    anything else (a busy warehouse) also says that what they typed is safe."""
    if error.title.startswith("Not saved"):
        return error.title
    return f"Not saved: {error.title} What you typed is kept as a draft; press Save again."
