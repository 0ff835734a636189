"""A copy of the session's demo warehouse with a few dozen human reviews, and the explorer's figures
computed by hand over its raw rows. The reviews: people agree with the
judge on most calls, miss some slow turns and add a wrong booking the rules judge cannot see, so
calibration has both hits and misses. Copied, because the demo file is shared by the session."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

from tests.review_fixture import without_reviews
from warehouse import reviews
from warehouse.filters import Filters

PERIOD = (date(2026, 10, 1), date(2026, 10, 31))


def reviewed_demo(demo_db: Path, folder: Path, sample: int = 60) -> Path:
    path = folder / "reviewed.duckdb"
    without_reviews(Path(shutil.copy(demo_db, path)))
    spec = reviews.SessionSpec(name="Week 43", start=PERIOD[0], end=PERIOD[1], seed=4242, sample_size=sample)
    session_id = reviews.create_session(spec, path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        judged = dict(con.execute(
            """SELECT s.call_id, j.labels FROM review_samples s JOIN judgements j USING (call_id)
               WHERE s.session_id = ? AND j.status = 'ok' ORDER BY s.position""", [session_id]
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    for n, (call_id, labels) in enumerate(judged.items()):
        human = [label for label in labels or [] if not (label == "slow_turn" and n % 3 == 0)]
        if n % 10 == 0:
            human.append("wrong_booking")
        test_case = n % 7 == 0
        reviews.save_review(reviews.Review(session_id, call_id, "Priya", 2 if human else 5, not human, tuple(human),
                                           notes=f"note {n}", test_case=test_case), path)  # fmt: skip
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def independent(path: Path, f: Filters, source: str, agents: tuple[str, ...] = ()) -> dict:
    """Modes per call under `source`, per-mode calls and lost conversions, by hand."""
    calls = {cid: day for cid, day, agent in _rows(path, "SELECT call_id, day, agent FROM calls")
             if f.start <= day <= f.end and (not agents or agent in agents)}  # fmt: skip
    booked: dict[str, list[bool]] = {}
    for cid, value in _rows(path, "SELECT call_id, booked FROM outcomes WHERE call_id IS NOT NULL"):
        if value is not None:
            booked.setdefault(cid, []).append(value)
    outcome = {cid: any(values) for cid, values in booked.items()}
    aliases = dict(_rows(path, "SELECT name, coalesce(merged_into, name) FROM failure_modes"))
    outcome_modes = {n for n, flag in _rows(path, "SELECT name, describes_outcome FROM failure_modes") if flag}
    judge: dict[str, tuple] = {}
    for cid, created, labels in _rows(path, "SELECT call_id, created_at, labels FROM judgements WHERE status = 'ok'"):
        if cid not in judge or created > judge[cid][0]:
            judge[cid] = (created, labels or [])
    human: dict[str, tuple] = {}
    for cid, created, rid, labels in _rows(path, "SELECT call_id, created_at, review_id, labels FROM reviews"):
        if cid not in human or (created, rid) > human[cid][0]:
            human[cid] = ((created, rid), labels or [])
    modes = {}
    for cid in calls:
        j = {aliases.get(x, x) for x in judge[cid][1]} if cid in judge else None
        h = {aliases.get(x, x) for x in human[cid][1]} if cid in human else None
        chosen = {"judge": j, "human": h, "both": (j & h) if j is not None and h is not None else None}[source]
        if chosen is not None:
            modes[cid] = chosen
    clean = [outcome[c] for c, m in modes.items() if not (m - outcome_modes) and c in outcome]
    baseline = sum(clean) / len(clean)
    counts = Counter(m for ms in modes.values() for m in ms)
    lost = {}
    for mode in counts:
        with_outcome = [outcome[c] for c, ms in modes.items() if mode in ms and c in outcome]
        lost[mode] = None if mode in outcome_modes else len(with_outcome) * baseline - sum(with_outcome)
    return {"modes": modes, "counts": counts, "lost": lost, "baseline": baseline, "days": calls}
