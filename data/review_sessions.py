"""Two finished weekly reviews for the demo, so Review summary, Judge calibration and the people
views open populated: the last two weeks, each 50 calls drawn the way the app draws them
(warehouse/reviews.py: the same strategies and weights), each call scored independently by a PM and
an engineer, with the session's decisions written and the session closed.

Who says what is deterministic from the demo's seed. Both start from the judge's view of the call;
each is stricter on the failure modes they own (the PM on outcomes, the engineer on latency and
errors) and a little noisy, so they disagree now and then the way a real pair does."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from warehouse import reviews
from warehouse.review_summary import session_summary

PM, ENGINEER = "Priya (PM)", "Tom (engineer)"
OWNER_OF = {PM: "pm", ENGINEER: "engineering"}
SESSIONS = (("oversample_flagged", 13), ("stratified_agent", 6))  # strategy, days before the last day it starts
NOTES = {
    "pm": ("Never offered the next free slot.", "Caller wanted a booking and left without one.",
           "Good call, booked in under a minute.", "Polite, but did not answer the price question."),
    "engineering": ("Long pause before the price lookup came back.", "Tool call failed, agent covered it well.",
                    "Latency fine, clean tool use.", "Talked over the caller twice."),
}
DECISIONS = ("Fix the slow price lookup first (Tom). Rewrite the prompt's booking fallback so a caller always "
             "hears the next free slot (Priya). Re-score the judge on goal_not_met next week.")


def _opinion(rng: random.Random, owner: str, call: dict, owners: dict[str, str]) -> tuple[int, bool, list[str]]:
    """One reviewer's score, verdict and tags for a call, from the judge's view of it."""
    labels = [label for label in call["judge_labels"] or [] if label in owners]
    mine = [label for label in labels if owners[label] == owner]
    score = min(5, max(1, (call["judge_score"] or 3) - len(mine) + rng.choice((-1, 0, 0, 0, 0, 1))))
    passed = score >= 3 and not (mine and rng.random() < 0.6)  # their own modes sink a call more often
    kept = [label for label in labels if label in mine or rng.random() < 0.7]
    return score, passed, kept if score < 4 or not passed else []


def _session_reviews(session: reviews.ReviewSession, seed: int, owners: dict[str, str],
                     path: Path) -> list[reviews.Review]:
    drawn = session_summary(session.session_id, path)
    assert drawn is not None
    saves = []
    for row in drawn.calls.iter_rows(named=True):
        for offset, reviewer in enumerate((PM, ENGINEER)):
            rng = random.Random(f"{seed}|{session.name}|{row['position']}|{reviewer}")
            score, passed, labels = _opinion(rng, OWNER_OF[reviewer], row, owners)
            saves.append(reviews.Review(
                session_id=session.session_id, call_id=row["call_id"], reviewer=reviewer, score=score, passed=passed,
                labels=tuple(labels), notes=rng.choice(NOTES[OWNER_OF[reviewer]]) if score <= 3 else "",
                test_case=not passed and rng.random() < 0.25,
                created_at=datetime.combine(session.end + timedelta(days=1), datetime.min.time())
                + timedelta(hours=10, minutes=row["position"], seconds=offset),
            ))  # fmt: skip
    return saves


def add_review_sessions(path: Path, last_day: date, seed: int) -> int:
    """Draw, score, decide and close the demo's two weekly reviews; returns the reviews saved."""
    owners = {row["name"]: row["owner"] for row in reviews.failure_modes(path).iter_rows(named=True)}
    saved = 0
    for n, (strategy, back) in enumerate(SESSIONS):
        start = last_day - timedelta(days=back)
        spec = reviews.SessionSpec(name=f"Week {start.isocalendar().week}, {start.year}", start=start,
                                   end=start + timedelta(days=6), seed=seed * 1000 + n, strategy=strategy,
                                   created_by=PM)
        session = reviews.get_session(reviews.create_session(spec, path), path)
        assert session is not None
        saved += len(reviews.save_reviews(_session_reviews(session, seed, owners, path), path))
        reviews.save_decisions(session.session_id, DECISIONS, path)
        reviews.close_session(session.session_id, path)
    return saved
