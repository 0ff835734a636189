"""The demo's two finished weekly reviews: drawn as the app draws, scored by a PM and an engineer
who sometimes disagree, closed with decisions; the review pages open populated, and the summary's
κ is the one computed by hand from the stored scores."""

from __future__ import annotations

from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from data.review_sessions import ENGINEER, PM
from warehouse import reviews

APP = Path(__file__).resolve().parent.parent / "app.py"


def newest_verdicts(db: Path, session_id: str) -> dict[str, dict[str, bool]]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""SELECT reviewer, call_id, passed FROM reviews WHERE session_id = ?
                          QUALIFY row_number() OVER (PARTITION BY reviewer, call_id ORDER BY created_at DESC) = 1""",
                       [session_id]).fetchall()
    con.close()
    found: dict[str, dict[str, bool]] = {}
    for reviewer, call_id, passed in rows:
        found.setdefault(reviewer, {})[call_id] = passed
    return found


def hand_kappa(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    fail_a, fail_b = sum(not x for x in a) / n, sum(not y for y in b) / n
    chance = fail_a * fail_b + (1 - fail_a) * (1 - fail_b)
    return (observed - chance) / (1 - chance)


def test_the_demo_has_two_closed_sessions_scored_by_two_people(demo_warehouse: Path) -> None:
    sessions = reviews.list_sessions(demo_warehouse)
    assert sessions.height == 2 and set(sessions["status"]) == {"closed"}
    assert set(sessions["strategy"]) == {"oversample_flagged", "stratified_agent"}
    for row in sessions.iter_rows(named=True):
        session = reviews.get_session(row["session_id"], demo_warehouse)
        verdicts = newest_verdicts(demo_warehouse, row["session_id"])
        assert set(verdicts) == {PM, ENGINEER}
        assert set(verdicts[PM]) == set(verdicts[ENGINEER]) == set(session.call_ids), "both scored every call"
        differ = sum(verdicts[PM][c] != verdicts[ENGINEER][c] for c in session.call_ids)
        assert 0 < differ < len(session.call_ids) / 2, "they disagree sometimes, not always"
        assert session.decisions


def test_the_review_pages_open_populated_and_the_summary_kappa_is_the_hand_computed_one(
    demo_warehouse: Path,
) -> None:
    newest = reviews.list_sessions(demo_warehouse).row(0, named=True)["session_id"]
    verdicts = newest_verdicts(demo_warehouse, newest)
    calls = sorted(verdicts[PM])
    kappa = hand_kappa([verdicts[PM][c] for c in calls], [verdicts[ENGINEER][c] for c in calls])
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()  # the frame registers its pages
    at.switch_page("app_pages/review_summary.py")
    at.run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Agreement beyond chance (κ)"] == f"{kappa:.2f}"
    assert int(shown["Calls to talk about"]) > 0
    assert shown["Calls scored"].startswith("50 / ")
    for page in ("app_pages/review_summary.py", "app_pages/calibration.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        texts = [e.value for e in [*at.markdown, *at.caption, *at.metric] if isinstance(e.value, str)]
        assert not [t for t in texts if t.strip() == "None"], page
        assert len(at.warning) <= 1, (page, [w.value for w in at.warning])
