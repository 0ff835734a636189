"""A/B comparison on the demo: the figures, sample sizes and intervals match a computation over
raw rows, the clinic prompt's conversion lift is significant, the salon prompt change is not, and a
traffic-mix difference is noted."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from data.scenario import DEMO_END_DAY
from tests.test_demo import FIRST_DAY
from warehouse import ab, stats
from warehouse.filters import Filters


def arm(agent: str, version: str) -> Filters:
    return Filters(FIRST_DAY, DEMO_END_DAY, agents=(agent,), prompt_versions=(version,))


def independent(db: Path, f: Filters) -> dict[str, tuple[float, int]]:
    """(value, n) per metric, in plain Python over the raw rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        calls = {c for (c,) in con.execute(
            "SELECT call_id FROM calls WHERE agent = ? AND prompt_version = ? AND day BETWEEN ? AND ?",
            [f.agents[0], f.prompt_versions[0], f.start, f.end]).fetchall()}
        outcomes = con.execute("SELECT call_id, booked, nps, resolved FROM outcomes").fetchall()
        judged = con.execute(
            "SELECT call_id, score, hallucination, created_at FROM judgements WHERE status = 'ok'").fetchall()
    finally:
        con.close()
    per_call: dict[str, dict] = {}
    for call, *values in outcomes:
        if call in calls:
            for name, value in zip(("booked", "nps", "resolved"), values, strict=True):
                if value is not None:
                    per_call.setdefault(call, {})[name] = max(value, per_call.get(call, {}).get(name, value))
    latest: dict[str, tuple] = {}
    for call, score, hallucination, created in judged:
        if call in calls and (call not in latest or created > latest[call][2]):
            latest[call] = (score, hallucination, created)

    def field(name: str) -> list:
        return [o[name] for o in per_call.values() if name in o]

    nps = field("nps")
    return {
        "conversion_rate": (sum(field("booked")) / len(field("booked")), len(field("booked"))),
        "nps": (100 * (sum(n >= 9 for n in nps) - sum(n <= 6 for n in nps)) / len(nps), len(nps)),
        "resolution_rate": (sum(field("resolved")) / len(field("resolved")), len(field("resolved"))),
        "eval_score": (sum(s for s, _, _ in latest.values()) / len(latest), len(latest)),
        "hallucination_rate": (sum(h for _, h, _ in latest.values()) / len(latest), len(latest)),
    }


def test_the_figures_and_intervals_match_raw_rows(demo_warehouse: Path) -> None:
    a, b = arm("clinic-scheduler", "v1"), arm("clinic-scheduler", "v2")
    result = ab.compare(a, b)
    expected_a, expected_b = independent(demo_warehouse, a), independent(demo_warehouse, b)
    for c in result.comparisons:
        assert (c.value_a, c.n_a) == (pytest.approx(expected_a[c.metric][0]), expected_a[c.metric][1]), c.metric
        assert (c.value_b, c.n_b) == (pytest.approx(expected_b[c.metric][0]), expected_b[c.metric][1]), c.metric
        assert c.difference == pytest.approx(expected_b[c.metric][0] - expected_a[c.metric][0])
    conversion = result.comparisons[0]
    value, n = expected_a["conversion_rate"]
    assert conversion.interval_a == pytest.approx(stats.wilson_interval(round(value * n), n))
    low, high = conversion.interval_a
    assert low < value < high and high - low < 2 * 1.96 * math.sqrt(0.25 / n) + 0.01


def test_the_clinic_prompt_lifts_conversion_significantly(demo_warehouse: Path) -> None:
    result = ab.compare(arm("clinic-scheduler", "v1"), arm("clinic-scheduler", "v2"))
    conversion = next(c for c in result.comparisons if c.metric == "conversion_rate")
    assert conversion.significant and conversion.difference > 0.07
    assert conversion.difference_interval[0] > 0


def test_the_salon_prompt_change_shows_no_significant_outcome_difference(demo_warehouse: Path) -> None:
    """The outcome metrics, which the salon's v2 prompt leaves alone, show no significant change.
    (On these 3,000 calls the v1 arm's 350 happen to hold 2.6% hallucinations against the 4.5%
    planted, which moves the quality metrics; on the 20,000-call demo none is significant.) The
    v2 arm also ran partly on another model, which the comparison notes."""
    result = ab.compare(arm("salon-booker", "v1"), arm("salon-booker", "v2"))
    outcomes = [c for c in result.comparisons if c.metric in ("conversion_rate", "nps", "resolution_rate")]
    assert not any(c.significant for c in outcomes), [(c.metric, c.p_value) for c in outcomes]
    assert all(c.p_value is not None and c.p_value > 0.1 for c in outcomes)
    assert result.mix_differs == ["model"]


def test_small_samples_are_never_called_significant(demo_warehouse: Path) -> None:
    days = Filters(DEMO_END_DAY, DEMO_END_DAY)
    result = ab.compare(Filters(days.start, days.end, models=("gpt-4.1",)),
                        Filters(days.start, days.end, models=("claude-sonnet-4-5",)))
    assert all(not c.significant and c.note for c in result.comparisons)


def test_different_agents_in_the_two_arms_are_noted(demo_warehouse: Path) -> None:
    whole = (FIRST_DAY, DEMO_END_DAY)
    result = ab.compare(Filters(*whole, models=("gpt-4.1",)), Filters(*whole, models=("gpt-4.1-mini",)))
    assert "agent" in result.mix_differs
    assert result.mix_distance["agent"] == pytest.approx(result.mix["agent"].filter(
        result.mix["agent"]["value"] == "estate-qualifier")["share_a"][0])
