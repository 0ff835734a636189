"""Prompt versions and the team's comments on them, read from and written to the DuckDB file.

Prompt versions and comments are a handful of rows that people write (ingest of a prompts folder,
the app), not facts a lake holds, so they are read from the file on every engine, as the reviews
are. Every statement binds its values as parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from warehouse.db import connect, transaction
from warehouse.errors import CallboardError

MAX_COMMENT_CHARS = 4000


class CommentRefused(CallboardError):
    """A comment the warehouse will not take, with a message meant for the person who wrote it."""


def _frame(sql: str, parameters: list) -> pl.DataFrame:
    with connect() as con:
        return con.cursor().sql(sql, params=parameters).pl()


def prompt_versions(agent: str | None = None) -> pl.DataFrame:
    """Every prompt version (agent, version, prompt_text, reason, author, deployed_at), oldest
    deploy first; only `agent`'s when given."""
    return _frame(
        "SELECT agent, version, prompt_text, reason, author, deployed_at FROM prompt_versions "
        "WHERE ? IS NULL OR agent = ? ORDER BY agent, deployed_at NULLS LAST, version",
        [agent, agent],
    )


def add_comment(agent: str, version: str, author: str, body: str, opened: Callable[[], object] | None = None) -> str:
    """Add a comment on a prompt version and return its id. Refused with a plain reason when the
    author or text is missing or the version does not exist (`opened`: see `db.transaction`)."""
    author, body = (author or "").strip(), (body or "").strip()
    if not author:
        raise CommentRefused("Say who you are: a comment needs an author.")
    if not body:
        raise CommentRefused("The comment is empty.")
    if len(body) > MAX_COMMENT_CHARS:
        raise CommentRefused(f"Keep a comment under {MAX_COMMENT_CHARS:,} characters.")
    comment_id = uuid.uuid4().hex
    with transaction(opened=opened) as con:
        known = con.execute(
            "SELECT 1 FROM prompt_versions WHERE agent = ? AND version = ?", [agent, version]
        ).fetchone()
        if known is None:
            raise CommentRefused(f"There is no prompt version {version} of {agent}.")
        con.execute(
            "INSERT INTO prompt_comments VALUES (?, ?, ?, ?, ?, ?)",
            [comment_id, agent, version, author, body, datetime.now(UTC).replace(tzinfo=None)],
        )
    return comment_id


def comments(agent: str) -> pl.DataFrame:
    """The comments on `agent`'s prompt versions (version, author, body, created_at), oldest first."""
    return _frame(
        "SELECT version, author, body, created_at FROM prompt_comments WHERE agent = ? "
        "ORDER BY created_at, comment_id",
        [agent],
    )
