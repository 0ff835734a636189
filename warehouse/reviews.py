"""Review sessions, their drawn calls, human reviews and the failure-mode taxonomy.

Every write is one short transaction with bound parameters (customer-derived text never becomes
SQL). Reviews are append-only: each save is a new row, so an edit keeps the earlier version and two
reviewers scoring one call are both kept; `review_metrics` says which row is current.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import ibis
import orjson
import polars as pl

from warehouse import metrics, review_metrics, sampling
from warehouse.db import connect, transaction
from warehouse.errors import CallboardError
from warehouse.filters import Filters
from warehouse.tables import Tables, duckdb_tables

DEFAULT_SAMPLE_SIZE = 50
MAX_SAMPLE_SIZE = 500
OUTCOMES = {
    "booked": "Booked",
    "not_booked": "Not booked",
    "resolved": "Resolved",
    "not_resolved": "Not resolved",
    "no_outcome": "No outcome recorded yet",
}
OWNERS = ("pm", "engineering")
_MODE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,48}$")


class ReviewRefused(CallboardError):
    """A save the warehouse will not take, with a message meant for the person who tried."""


def new_seed() -> int:
    """A fresh seed, short enough to read out loud and type back in."""
    return secrets.randbelow(900_000) + 100_000


@dataclass(frozen=True)
class SessionSpec:
    """What a review session draws from: a period, filters, a strategy, a size and a seed."""

    name: str
    start: date
    end: date
    seed: int
    sample_size: int = DEFAULT_SAMPLE_SIZE
    strategy: str = "uniform"
    agents: tuple[str, ...] = ()
    prompt_versions: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    created_by: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ReviewRefused("Give the session a name, e.g. 'Week 47'.")
        if not 1 <= self.sample_size <= MAX_SAMPLE_SIZE:
            raise ReviewRefused(f"The sample size must be between 1 and {MAX_SAMPLE_SIZE}.")
        if self.strategy not in sampling.STRATEGIES:
            raise ReviewRefused(f"Unknown sampling strategy '{self.strategy}'.")
        if unknown := set(self.outcomes) - set(OUTCOMES):
            raise ReviewRefused(f"Unknown outcome filter: {', '.join(sorted(unknown))}.")
        Filters(self.start, self.end)  # raises when the period ends before it starts

    @property
    def filters(self) -> Filters:
        return Filters(self.start, self.end, self.agents, self.prompt_versions, self.models)

    def filters_json(self) -> str:
        return orjson.dumps({
            "agents": self.agents, "prompt_versions": self.prompt_versions,
            "models": self.models, "outcomes": self.outcomes,
        }).decode()  # fmt: skip


@dataclass(frozen=True)
class ReviewSession:
    session_id: str
    name: str
    created_by: str | None
    created_at: datetime
    start: date
    end: date
    filters: dict
    strategy: str
    sample_size: int
    seed: int
    status: str
    decisions: str | None
    closed_at: datetime | None
    call_ids: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    strata: tuple[str | None, ...] = ()  # the group each call was drawn from; None before migration 0006

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Review:
    """One save of a human review. `score` and `passed` are both required: a half-filled score
    would make the pass rate and the agreement figures quietly wrong."""

    session_id: str | None
    call_id: str
    reviewer: str | None
    score: int | None
    passed: bool | None
    labels: tuple[str, ...] = ()
    notes: str = ""
    test_case: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))


def _outcome_condition(outcome: ibis.Table, chosen: tuple[str, ...]) -> ibis.BooleanValue:
    conditions = {
        "booked": outcome.booked.fill_null(False),
        "not_booked": ~outcome.booked.fill_null(True),
        "resolved": outcome.resolved.fill_null(False),
        "not_resolved": ~outcome.resolved.fill_null(True),
        "no_outcome": outcome.call_id.isnull(),
    }
    return ibis.or_(*(conditions[name] for name in chosen))


def _candidates(t: Tables, spec: SessionSpec) -> list[sampling.Candidate]:
    """The calls a session may draw: in the period, matching every filter, each with its agent
    and whether the judge flagged it."""
    calls = metrics.scoped_calls(t, spec.filters).select("call_id", "agent")
    if spec.outcomes:
        outcome = metrics.outcome_per_call(t)
        joined = calls.left_join(outcome, calls.call_id == outcome.call_id)
        calls = joined.filter(_outcome_condition(joined, spec.outcomes)).select(calls.call_id, calls.agent)
    judged = metrics.latest_judgement_per_call(t)
    flagged = (~judged.passed.fill_null(True)) | judged.hallucination.fill_null(False)
    flags = judged.select("call_id", flagged=flagged)
    rows = calls.left_join(flags, calls.call_id == flags.call_id).select(calls.call_id, calls.agent, "flagged")
    frame = rows.to_polars()
    return [
        sampling.Candidate(call_id, agent, bool(flag))
        for call_id, agent, flag in frame.select("call_id", "agent", "flagged").iter_rows()
    ]


def draw_sample(spec: SessionSpec, path: Path | None = None) -> list[sampling.Drawn]:
    """The calls a session with this spec would review, without saving anything."""
    with connect(path) as con:
        return sampling.draw(_candidates(duckdb_tables(con), spec), spec.strategy, spec.sample_size, spec.seed)


def create_session(spec: SessionSpec, path: Path | None = None) -> str:
    """Draw the sample and store the session with it; returns the new session's id. Refused when
    no call matches, so nobody starts a meeting on an empty list."""
    session_id = uuid.uuid4().hex[:12]
    with transaction(path) as con:
        drawn = sampling.draw(_candidates(duckdb_tables(con), spec), spec.strategy, spec.sample_size, spec.seed)
        if not drawn:
            raise ReviewRefused("No call matches this period and these filters; widen them and try again.")
        con.execute(
            """INSERT INTO review_sessions (session_id, name, created_by, created_at, period_start, period_end,
                                            filters, strategy, sample_size, seed, status)
               VALUES (?, ?, ?, now()::TIMESTAMP, ?, ?, ?::JSON, ?, ?, ?, 'open')""",
            [session_id, spec.name.strip(), spec.created_by, spec.start, spec.end, spec.filters_json(),
             spec.strategy, len(drawn), spec.seed],
        )
        con.executemany(
            "INSERT INTO review_samples (session_id, position, call_id, weight, stratum) VALUES (?, ?, ?, ?, ?)",
            [(session_id, position, d.call_id, d.weight, d.stratum) for position, d in enumerate(drawn, start=1)],
        )
    return session_id


def get_session(session_id: str, path: Path | None = None) -> ReviewSession | None:
    """A session with its drawn calls in the order they are shown; None when there is no such id.
    Columns are named after `ReviewSession`'s fields and matched by name, not by position."""
    with connect(path) as con:
        row = con.execute(
            """SELECT session_id, name, created_by, created_at, period_start AS start, period_end AS "end",
                      filters::VARCHAR AS filters, strategy, sample_size, seed, status, decisions, closed_at
               FROM review_sessions WHERE session_id = ?""",
            [session_id],
        )
        found = row.fetchone()
        if found is None:
            return None
        fields = dict(zip([column[0] for column in row.description], found, strict=True))
        samples = con.execute(
            "SELECT call_id, weight, stratum FROM review_samples WHERE session_id = ? ORDER BY position", [session_id]
        ).fetchall()
    fields["filters"] = orjson.loads(fields["filters"] or "{}")
    call_ids, weights, strata = zip(*samples, strict=True) if samples else ((), (), ())
    return ReviewSession(**fields, call_ids=tuple(call_ids), weights=tuple(weights), strata=tuple(strata))


def sample_weights(path: Path | None = None) -> pl.DataFrame:
    """Every drawn call's sampling weight per session (session_id, call_id, weight), for figures
    that pool reviews across sessions and must undo each session's oversampling."""
    with connect(path) as con:
        return read_sample_weights(con)


def read_sample_weights(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """`sample_weights`, on a connection to the warehouse the caller holds already."""
    return con.sql("SELECT session_id, call_id, weight FROM review_samples").pl()


def list_sessions(path: Path | None = None) -> pl.DataFrame:
    """Every session, newest first, with how many of its calls have been scored."""
    with connect(path) as con:
        return read_sessions(con)


def read_sessions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """`list_sessions`, on a connection to the warehouse the caller holds already."""
    return con.sql(
        """SELECT s.session_id, s.name, s.status, s.created_at, s.created_by, s.period_start, s.period_end,
                  s.strategy, s.sample_size, s.seed,
                  (SELECT count(DISTINCT r.call_id) FROM reviews r WHERE r.session_id = s.session_id) AS scored
           FROM review_sessions s ORDER BY s.created_at DESC, s.session_id"""
    ).pl()


def _update_session(session_id: str, sql: str, parameters: list, path: Path | None) -> None:
    with transaction(path) as con:
        if con.execute("SELECT 1 FROM review_sessions WHERE session_id = ?", [session_id]).fetchone() is None:
            raise ReviewRefused(f"There is no review session '{session_id}'.")
        con.execute(sql, [*parameters, session_id])


def save_decisions(session_id: str, decisions: str, path: Path | None = None) -> None:
    """Keep what the meeting decided (free text)."""
    _update_session(session_id, "UPDATE review_sessions SET decisions = ? WHERE session_id = ?", [decisions], path)


def close_session(session_id: str, path: Path | None = None) -> None:
    """Mark a session done; its reviews stay and it can be reopened."""
    _update_session(
        session_id, "UPDATE review_sessions SET status = 'closed', closed_at = now()::TIMESTAMP WHERE session_id = ?",
        [], path,
    )  # fmt: skip


def reopen_session(session_id: str, path: Path | None = None) -> None:
    _update_session(
        session_id, "UPDATE review_sessions SET status = 'open', closed_at = NULL WHERE session_id = ?", [], path
    )


def check_review(review: Review, known_labels: set[str]) -> str:
    """The reviewer's name, trimmed, once the review is complete; otherwise why it is not saved."""
    reviewer = (review.reviewer or "").strip()
    if not reviewer:
        raise ReviewRefused("Not saved: choose who is reviewing first (the name beside “Reviewer”). "
                            "Every score is kept with its reviewer's name.")
    if review.score is None or not 1 <= review.score <= 5:
        raise ReviewRefused("Not saved: give the call a score from 1 to 5.")
    if review.passed is None:
        raise ReviewRefused("Not saved: say whether the call passes or fails.")
    if unknown := set(review.labels) - known_labels:
        raise ReviewRefused(f"Not saved: {', '.join(sorted(unknown))} is not in the failure-mode list.")
    return reviewer


def save_review(review: Review, path: Path | None = None, opened: Callable[[], object] | None = None) -> str:
    """Store one save of a review as a new row (never an update) and return its id (`opened`: see
    `db.transaction`)."""
    return save_reviews([review], path, opened)[0]


def save_reviews(saves: list[Review], path: Path | None = None,
                 opened: Callable[[], object] | None = None) -> list[str]:
    """Store several saves in one transaction (all or none), each checked as `save_review` checks it."""
    ids = [uuid.uuid4().hex for _ in saves]
    with transaction(path, opened=opened) as con:
        known = {row[0] for row in con.execute("SELECT name FROM failure_modes").fetchall()}
        rows = [[review_id, r.session_id, r.call_id, check_review(r, known), r.score, r.passed, list(r.labels), r.notes,
                 r.test_case, r.created_at] for review_id, r in zip(ids, saves, strict=True)]
        con.executemany(
            """INSERT INTO reviews (review_id, session_id, call_id, reviewer, score, passed, labels, notes,
                                    test_case, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
    return ids


def current_reviews(session_id: str, path: Path | None = None) -> pl.DataFrame:
    """Each reviewer's current (newest) review of each call in the session."""
    with connect(path) as con:
        reviews = duckdb_tables(con).reviews
        mine = reviews.filter(reviews.session_id == session_id)
        return review_metrics.current_reviews(mine).order_by(["call_id", "reviewer"]).to_polars()


def scored_calls(session_id: str, path: Path | None = None) -> frozenset[str]:
    """The calls of the session someone has scored: the review's progress, read on every call
    shown, so one plain indexed lookup rather than `current_reviews`' newest-per-reviewer query."""
    with connect(path) as con:
        rows = con.execute("SELECT DISTINCT call_id FROM reviews WHERE session_id = ?", [session_id]).fetchall()
    return frozenset(call_id for (call_id,) in rows)


def call_history(call_id: str, path: Path | None = None) -> pl.DataFrame:
    """Every save of every review of a call, newest first: the history an edit keeps."""
    with connect(path) as con:
        return con.sql(
            """SELECT review_id, session_id, reviewer, score, passed, labels, notes, test_case, created_at
               FROM reviews WHERE call_id = ? ORDER BY created_at DESC, review_id DESC""",
            params=[call_id],
        ).pl()


def failure_modes(path: Path | None = None) -> pl.DataFrame:
    """The taxonomy a reviewer tags with (merged modes left out), by name."""
    with connect(path) as con:
        return con.sql(
            "SELECT name, description, owner FROM failure_modes WHERE merged_into IS NULL ORDER BY name"
        ).pl()


def add_failure_mode(name: str, description: str, owner: str, path: Path | None = None,
                     opened: Callable[[], object] | None = None) -> str:
    """Add a failure mode on the spot; returns its name as stored (lower case, underscores)
    (`opened`: see `db.transaction`)."""
    with transaction(path, opened=opened) as con:
        return insert_failure_mode(con, name, description, owner)


def insert_failure_mode(
    con: duckdb.DuckDBPyConnection, name: str, description: str, owner: str, examples: str = "",
    describes_outcome: bool = False,
) -> str:
    """Add a failure mode inside the caller's transaction (so a rename adds and merges as one
    unit); returns its name as stored (lower case, underscores)."""
    name = re.sub(r"[\s-]+", "_", name.strip().lower())
    if not _MODE_NAME.match(name):
        raise ReviewRefused("A failure-mode name is 2–49 letters, digits or underscores, starting with a letter, "
                            "e.g. 'wrong_clinic'.")
    check_mode_meaning(description, owner)
    if con.execute("SELECT 1 FROM failure_modes WHERE name = ?", [name]).fetchone():
        raise ReviewRefused(f"'{name}' is already a failure mode; pick it from the list.")
    con.execute(
        "INSERT INTO failure_modes (name, description, owner, examples, describes_outcome) VALUES (?, ?, ?, ?, ?)",
        [name, description.strip(), owner, examples.strip() or None, describes_outcome],
    )
    return name


def check_mode_meaning(description: str, owner: str) -> None:
    """What every added or edited mode needs: a description to tag by and an owner."""
    if not description.strip():
        raise ReviewRefused("Describe the failure mode in a sentence, so others tag it the same way.")
    if owner not in OWNERS:
        raise ReviewRefused("The owner is 'pm' or 'engineering'.")
