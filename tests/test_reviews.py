"""Saving reviews (append-only history, two reviewers, refusals), the taxonomy, session life
cycle, and the summary's figures against an independent computation over the same rows."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from export.table_files import csv_bytes
from present.review_summary import to_markdown
from tests import review_fixture
from warehouse import review_summary, reviews
from warehouse.review_metrics import PASS_FAIL
from warehouse.stats import wilson_interval


def wilson_by_bisection(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson interval as its definition says: the p's whose score test does not reject,
    found numerically (independent of the closed form under test)."""
    share = successes / n

    def inside(p: float) -> bool:
        if p in (0.0, 1.0):
            return share == p
        return abs(share - p) <= z * math.sqrt(p * (1 - p) / n)

    def edge(lo: float, hi: float) -> float:  # lo is inside, hi outside (or the other way round)
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if inside(mid) == inside(lo) else (lo, mid)
        return (lo + hi) / 2

    return (0.0 if inside(0.0) else edge(share, 0.0)), (1.0 if inside(1.0) else edge(share, 1.0))


@pytest.mark.parametrize("successes, n, expected", [
    (5, 10, (0.2365930905, 0.7634069095)),  # statsmodels proportion_confint(5, 10, method="wilson")
    (0, 10, (0.0, 0.2775327998)),
    (10, 10, (0.7224672002, 1.0)),
    (81, 263, (0.2553, 0.3662)),  # Wikipedia's worked example, to four places
])
def test_wilson_interval_matches_published_values(successes: int, n: int, expected: tuple[float, float]) -> None:
    lo, hi = wilson_interval(successes, n)
    places = 4 if n == 263 else 9
    assert round(lo, places) == pytest.approx(expected[0], abs=10**-places)
    assert round(hi, places) == pytest.approx(expected[1], abs=10**-places)


@pytest.mark.parametrize("successes, n", [(1, 3), (17, 50), (49, 50), (3, 7), (0, 1)])
def test_wilson_interval_matches_its_definition(successes: int, n: int) -> None:
    assert wilson_interval(successes, n) == pytest.approx(wilson_by_bisection(successes, n), abs=1e-9)


def test_wilson_interval_is_none_without_observations() -> None:
    assert wilson_interval(0, 0) is None


@pytest.fixture
def session(synthetic_warehouse: Path) -> reviews.ReviewSession:
    review_fixture.enrich(synthetic_warehouse)
    spec = reviews.SessionSpec("Week 41", date(2026, 10, 1), date(2026, 10, 14), seed=99, sample_size=30,
                               strategy="oversample_flagged")
    found = reviews.get_session(reviews.create_session(spec))
    assert found is not None
    return found


def save(session: reviews.ReviewSession, position: int, reviewer: str, score: int, passed: bool,
         labels: tuple[str, ...] = (), notes: str = "", test_case: bool = False, at: int = 0) -> None:
    call_id = session.call_ids[position - 1]
    reviews.save_review(reviews.Review(session.session_id, call_id, reviewer, score, passed, labels, notes,
                                       test_case, created_at=datetime(2026, 11, 2, 10, at)))


def test_an_edit_adds_a_row_and_the_newest_save_is_current(session: reviews.ReviewSession) -> None:
    save(session, 1, "ana", 4, True, at=0)
    save(session, 1, "ana", 2, False, ("slow_turn",), "on second thought", at=5)
    save(session, 1, "ben", 3, True, at=3)
    history = reviews.call_history(session.call_ids[0])
    assert history["score"].to_list() == [2, 3, 4]
    current = reviews.current_reviews(session.session_id)
    assert sorted(zip(current["reviewer"], current["score"], strict=True)) == [("ana", 2), ("ben", 3)]


@pytest.mark.parametrize("reviewer", [None, "", "   "])
def test_no_score_is_saved_without_a_reviewer(session: reviews.ReviewSession, reviewer: str | None) -> None:
    review = reviews.Review(session.session_id, session.call_ids[0], reviewer, 4, True)
    with pytest.raises(reviews.ReviewRefused, match="choose who is reviewing"):
        reviews.save_review(review)
    assert reviews.call_history(session.call_ids[0]).is_empty()


@pytest.mark.parametrize("score, passed, labels, message", [
    (None, True, (), "score from 1 to 5"), (6, True, (), "score from 1 to 5"),
    (3, None, (), "passes or fails"), (3, True, ("made_up",), "not in the failure-mode list"),
])
def test_incomplete_reviews_are_refused(session: reviews.ReviewSession, score, passed, labels, message) -> None:
    with pytest.raises(reviews.ReviewRefused, match=message):
        reviews.save_review(reviews.Review(session.session_id, session.call_ids[0], "ana", score, passed, labels))


def test_text_with_sql_and_markup_is_stored_as_written(session: reviews.ReviewSession) -> None:
    notes = "'); DROP TABLE reviews; -- <script>alert(1)</script>"
    save(session, 2, "o'brien", 3, True, notes=notes)
    assert reviews.call_history(session.call_ids[1])["notes"].to_list() == [notes]


def test_a_failure_mode_added_on_the_spot_can_be_used_at_once(session: reviews.ReviewSession) -> None:
    name = reviews.add_failure_mode("Wrong clinic", "Booked at another branch than asked.", "pm")
    assert name == "wrong_clinic"
    assert "wrong_clinic" in reviews.failure_modes()["name"].to_list()
    save(session, 1, "ana", 2, False, ("wrong_clinic",))
    with pytest.raises(reviews.ReviewRefused, match="already a failure mode"):
        reviews.add_failure_mode("wrong_clinic", "again", "pm")
    with pytest.raises(reviews.ReviewRefused, match="Describe"):
        reviews.add_failure_mode("other_thing", " ", "pm")
    with pytest.raises(reviews.ReviewRefused, match="owner"):
        reviews.add_failure_mode("other_thing", "x", "sales")


def test_sessions_are_listed_closed_and_reopened(session: reviews.ReviewSession) -> None:
    save(session, 1, "ana", 4, True)
    listed = reviews.list_sessions().row(0, named=True)
    assert (listed["name"], listed["scored"], listed["seed"]) == ("Week 41", 1, 99)
    reviews.close_session(session.session_id)
    assert reviews.get_session(session.session_id).status == "closed"
    reviews.reopen_session(session.session_id)
    assert reviews.get_session(session.session_id).is_open
    with pytest.raises(reviews.ReviewRefused, match="no review session"):
        reviews.close_session("nope")


def independent_summary(path: Path, session: reviews.ReviewSession) -> dict:
    """The summary's figures from raw rows in plain Python."""
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT call_id, reviewer, score, passed, labels, test_case, created_at, review_id "
                       "FROM reviews WHERE session_id = ?", [session.session_id]).fetchall()
    judged = con.execute("SELECT call_id, passed, labels, created_at FROM judgements WHERE status = 'ok'").fetchall()
    con.close()
    verdict: dict[str, tuple] = {}
    for row in rows:
        if row[0] not in verdict or (row[6], row[7]) > (verdict[row[0]][6], verdict[row[0]][7]):
            verdict[row[0]] = row
    judge: dict[str, tuple] = {}
    for row in judged:
        if row[0] not in judge or row[3] > judge[row[0]][3]:
            judge[row[0]] = row
    passed = [v[3] for v in verdict.values()]
    both = [c for c in verdict if c in judge]
    labels = {label for c in both for label in (verdict[c][4] or []) + (judge[c][2] or [])}
    def says(row: tuple, index: int, label: str) -> bool:
        return label in (row[index] or [])

    agreed = {label: {c: says(verdict[c], 4, label) == says(judge[c], 2, label) for c in both} for label in labels}
    agreed[PASS_FAIL] = {c: verdict[c][3] == judge[c][1] for c in both}
    counts: dict[str, int] = {}
    for v in verdict.values():
        for label in v[4] or []:
            counts[label] = counts.get(label, 0) + 1
    return {
        "scored": len(verdict),
        "passed": sum(passed),
        "population": population_rate(session, {c: v[3] for c, v in verdict.items()}),
        "agreement": {label: population_rate(session, by_call) for label, by_call in agreed.items()},
        "sample_agreement": {label: sum(by_call.values()) / len(by_call) for label, by_call in agreed.items()},
        "modes": counts,
        "test_cases": sorted(c for c, v in verdict.items() if v[5]),
    }


def population_rate(session: reviews.ReviewSession, passed: dict[str, bool]) -> float:
    """Σ N_h·p_h ÷ Σ N_h over the strata with a verdict, N_h = weight × calls drawn from stratum h."""
    drawn: dict[str, list[str]] = {}
    for call_id, stratum in zip(session.call_ids, session.strata, strict=True):
        drawn.setdefault(stratum, []).append(call_id)
    weight = dict(zip(session.call_ids, session.weights, strict=True))
    sizes, shares = {}, {}
    for stratum, calls in drawn.items():
        scored = [passed[c] for c in calls if c in passed]
        if scored:
            sizes[stratum] = weight[calls[0]] * len(calls)
            shares[stratum] = sum(scored) / len(scored)
    return sum(sizes[h] * shares[h] for h in sizes) / sum(sizes.values())


def judged_positions(path: Path, session: reviews.ReviewSession) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    judged = {row[0] for row in con.execute("SELECT call_id FROM judgements WHERE status = 'ok'").fetchall()}
    con.close()
    return [n for n, call_id in enumerate(session.call_ids, start=1) if call_id in judged]


def test_the_summary_matches_an_independent_computation(synthetic_warehouse: Path,
                                                        session: reviews.ReviewSession) -> None:
    judged = judged_positions(synthetic_warehouse, session)
    p = [*judged[:3], next(n for n in judged if session.strata[n - 1] == "other")]  # both strata of the draw
    unjudged = next(n for n in range(1, 31) if n not in p)
    save(session, p[0], "ana", 4, True, at=1)
    save(session, p[1], "ana", 2, False, ("slow_turn", "hallucinated_fact"), "quoted $95", test_case=True, at=2)
    save(session, p[2], "ana", 1, False, ("slow_turn",), at=3)
    save(session, p[2], "ben", 5, True, at=4)  # the newest save is the call's verdict
    save(session, p[3], "ben", 3, True, ("goal_not_met",), at=5)
    save(session, unjudged, "ana", 2, False, ("hallucinated_fact",), test_case=True, at=6)
    save(session, unjudged, "ana", 3, False, ("slow_turn",), "edited", test_case=True, at=7)
    summary = review_summary.session_summary(session.session_id)
    expected = independent_summary(synthetic_warehouse, session)
    assert summary.scored == expected["scored"] == 5
    assert summary.passed == expected["passed"]
    assert summary.sample_pass_rate == pytest.approx(expected["passed"] / 5)
    assert summary.pass_rate == pytest.approx(expected["population"])
    assert dict(summary.failure_modes.iter_rows()) == expected["modes"]
    for column in ("agreement", "sample_agreement"):
        shown = dict(zip(summary.agreement["label"], summary.agreement[column], strict=True))
        assert shown == pytest.approx(expected[column])
    assert summary.agreement["label"][0] == PASS_FAIL
    assert expected["agreement"] != pytest.approx(expected["sample_agreement"])  # the draw's weights matter here
    assert sorted(summary.test_cases["call_id"]) == expected["test_cases"]
    assert summary.calls.height == len(session.call_ids)


def test_the_exports_carry_the_figures_and_escape_table_text(session: reviews.ReviewSession) -> None:
    save(session, 1, "ana", 4, True, at=1)
    save(session, 2, "ana", 2, False, ("slow_turn",), "said | then\nhung up", test_case=True, at=2)
    reviews.save_decisions(session.session_id, "Fix the price lookup timeout.")
    summary = review_summary.session_summary(session.session_id)
    markdown = to_markdown(summary)
    lo, hi = summary.pass_interval
    assert "Calls scored: 2 / 30" in markdown
    assert f"Pass rate, all calls: {summary.pass_rate:.0%}; 95% interval {lo:.0%}–{hi:.0%}" in markdown
    assert "Passed in this sample: 50% (1 of 2)" in markdown
    assert "| slow\\_turn | 1 |" in markdown
    assert "said \\| then hung up" in markdown
    assert "seed 99" in markdown and "Fix the price lookup timeout\\." in markdown
    csv = csv_bytes(summary.calls).decode().splitlines()
    assert csv[0].startswith("position,call_id,weight,stratum,reviewer,score,passed,labels,notes,test_case")
    assert len(csv) >= 31 and csv[2].startswith(f"2,{session.call_ids[1]},")


def test_two_reviewers_disagreements_and_kappa_match_a_hand_computation(session: reviews.ReviewSession) -> None:
    pm = [(4, True), (2, False), (5, True), (1, False), (3, True), (4, True), (2, False), (5, True), (3, False)]
    eng = [(4, True), (3, False), (3, True), (2, True), (3, False), (4, True), (1, False), (5, True), (3, False)]
    for n, ((pm_score, pm_pass), (eng_score, eng_pass)) in enumerate(zip(pm, eng, strict=True), start=1):
        save(session, n, "Priya (PM)", pm_score, pm_pass, at=2 * n)
        save(session, n, "Tom (engineer)", eng_score, eng_pass, at=2 * n + 1)
    save(session, 10, "Priya (PM)", 2, False, at=30)  # scored by one reviewer only: not compared
    pair = review_summary.session_summary(session.session_id).reviewers
    assert (pair.first, pair.second, pair.calls) == ("Priya (PM)", "Tom (engineer)", 9)
    same = sum(a[1] == b[1] for a, b in zip(pm, eng, strict=True))
    p_pm, p_eng = sum(not a[1] for a in pm) / 9, sum(not b[1] for b in eng) / 9
    chance = p_pm * p_eng + (1 - p_pm) * (1 - p_eng)
    assert pair.agreed == same == 7
    assert pair.kappa == pytest.approx((same / 9 - chance) / (1 - chance))
    assert pair.disagreements["position"].to_list() == [3, 4, 5], "3: scores 5 vs 3; 4 and 5: verdicts differ"
    markdown = to_markdown(review_summary.session_summary(session.session_id))
    assert f"same pass / fail on 7 of 9 calls, κ = {pair.kappa:.2f}" in markdown
