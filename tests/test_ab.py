"""A/B comparison on the demo: the figures, sample sizes and intervals match a computation over
raw rows (standardized by agent when several agents are compared), the clinic prompt's conversion
lift is significant, the salon and estate prompt changes and the model switch are not, arms that
share no agent are refused, and arms that ran in different periods are said to."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from data.scenario import DEMO_END_DAY
from tests.test_demo import FIRST_DAY
from warehouse import ab, prepared, stats
from warehouse.filters import Filters


def arm(agent: str, version: str) -> Filters:
    return Filters(FIRST_DAY, DEMO_END_DAY, agents=(agent,), prompt_versions=(version,))


def independent(db: Path, f: Filters, agent: str | None = None) -> dict[str, tuple[float, int]]:
    """(value, n) per metric, in plain Python over the raw rows, for one agent of the arm (default:
    the arm's only agent)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        clauses = ["day BETWEEN ? AND ?", "agent = ?"]
        values: list = [f.start, f.end, agent or f.agents[0]]
        for column, wanted in (("prompt_version", f.prompt_versions), ("model", f.models)):
            if wanted:
                clauses.append(f"{column} = ?")
                values.append(wanted[0])
        rows = con.execute(f"SELECT call_id, cost_usd FROM calls WHERE {' AND '.join(clauses)}", values).fetchall()
        calls = {c for c, _ in rows}
        costs = [cost for _, cost in rows if cost is not None]
        outcomes = con.execute("SELECT call_id, booked, nps, resolved FROM outcomes").fetchall()
        judged = con.execute(
            "SELECT call_id, score, hallucination, created_at FROM judgements WHERE status = 'ok'").fetchall()
        replies = [ms for c, ms in con.execute("SELECT call_id, response_latency_ms FROM turns WHERE speaker = 'agent' "
                                               "AND response_latency_ms IS NOT NULL").fetchall() if c in calls]
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
        "calls": (len(calls), len(calls)),
        "conversion_rate": (sum(field("booked")) / len(field("booked")), len(field("booked"))),
        "nps": (100 * (sum(n >= 9 for n in nps) - sum(n <= 6 for n in nps)) / len(nps), len(nps)),
        "resolution_rate": (sum(field("resolved")) / len(field("resolved")), len(field("resolved"))),
        "eval_score": (sum(s for s, _, _ in latest.values()) / len(latest), len(latest)),
        "hallucination_rate": (sum(h for _, h, _ in latest.values()) / len(latest), len(latest)),
        "cost_per_call_usd": (sum(costs) / len(costs), len(costs)),
        "latency_p50_ms": (float(np.percentile(replies, 50)), len(replies)),
        "latency_p95_ms": (float(np.percentile(replies, 95)), len(replies)),
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
    one_agent = ("estate-qualifier",)
    result = ab.compare(Filters(DEMO_END_DAY, DEMO_END_DAY, agents=one_agent),
                        Filters(FIRST_DAY, FIRST_DAY, agents=one_agent))
    assert all(not c.significant and c.too_small and c.adjusted_p is None for c in result.comparisons)


def test_arms_with_no_agent_in_common_are_refused(demo_warehouse: Path) -> None:
    """Claude serves only the clinic agent, gpt-4.1 the others: any difference would be the agents'."""
    whole = (FIRST_DAY, DEMO_END_DAY)
    result = ab.compare(Filters(*whole, models=("gpt-4.1",)), Filters(*whole, models=("claude-sonnet-4-5",)))
    assert result.agents == () and "No agent has calls in both arms" in result.refusal
    assert all(c.difference is None and not c.significant for c in result.comparisons)


def test_the_model_switch_is_compared_on_the_salon_agent_alone(demo_warehouse: Path) -> None:
    """The issue's case: gpt-4.1 against gpt-4.1-mini read +14 points conversion, but mini serves only
    the salon agent, which converts more. Compared within that agent, conversion (nothing planted) is
    not significant; the cost drop (planted) is; the arms ran one after the other."""
    whole = (FIRST_DAY, DEMO_END_DAY)
    a, b = Filters(*whole, models=("gpt-4.1",)), Filters(*whole, models=("gpt-4.1-mini",))
    result = ab.compare(a, b)
    assert result.agents == ("salon-booker",) and result.left_out == {"estate-qualifier": "B"}
    by_metric = {c.metric: c for c in result.comparisons}
    assert not by_metric["conversion_rate"].significant
    assert abs(by_metric["conversion_rate"].difference) < 0.05
    assert by_metric["cost_per_call_usd"].significant and by_metric["cost_per_call_usd"].difference < 0
    expected = independent(demo_warehouse, Filters(*whole, models=("gpt-4.1-mini",)), "salon-booker")
    assert by_metric["latency_p95_ms"].value_b == pytest.approx(expected["latency_p95_ms"][0])
    assert result.switch_day == date(2026, 10, 28)
    assert result.days_a[1] < result.switch_day == result.days_b[0]
    window = ab.compare(ab.around_switch(a, result.switch_day, 7), ab.around_switch(b, result.switch_day, 7))
    assert (window.days_a[0], window.days_b[1]) == (date(2026, 10, 21), date(2026, 11, 3))


def test_the_estate_prompt_change_is_not_called_significant_on_outcomes(demo_warehouse: Path) -> None:
    """Nothing was planted in estate v1 → v2 (the issue saw resolution at p = 0.004)."""
    result = ab.compare(arm("estate-qualifier", "v1"), arm("estate-qualifier", "v2"))
    outcomes = [c for c in result.comparisons if c.metric in ("conversion_rate", "nps", "resolution_rate")]
    assert not any(c.significant for c in outcomes), [(c.metric, c.p_value, c.adjusted_p) for c in outcomes]


def test_several_agents_are_standardized_to_one_mix(demo_warehouse: Path) -> None:
    """Every agent's v1 against its v2: each arm's figure is Σ w_g·x_g with w_g the agent's share of
    both arms' calls, and x_g the agent's own figure from raw rows."""
    whole = (FIRST_DAY, DEMO_END_DAY)
    a, b = Filters(*whole, prompt_versions=("v1",)), Filters(*whole, prompt_versions=("v2",))
    result = ab.compare(a, b)
    assert result.agents == ("clinic-scheduler", "estate-qualifier", "salon-booker") and result.standardized
    per_agent = {g: (independent(demo_warehouse, a, g), independent(demo_warehouse, b, g)) for g in result.agents}
    sizes = {g: x["calls"][0] + y["calls"][0] for g, (x, y) in per_agent.items()}
    weights = {g: n / sum(sizes.values()) for g, n in sizes.items()}
    assert result.agent_weights == pytest.approx([weights[g] for g in result.agents])
    for c in result.comparisons:
        expected_a = sum(weights[g] * per_agent[g][0][c.metric][0] for g in result.agents)
        expected_b = sum(weights[g] * per_agent[g][1][c.metric][0] for g in result.agents)
        assert (c.value_a, c.value_b) == (pytest.approx(expected_a), pytest.approx(expected_b)), c.metric
        assert c.n_a == sum(per_agent[g][0][c.metric][1] for g in result.agents)


def _figures(result: ab.ABResult) -> tuple[list, list[float | None]]:
    """A comparison's counts, agents and days (exact), and its figures (compared approximately: the
    engine sums in no set order)."""
    exact = [result.calls_a, result.calls_b, result.agents, result.left_out, result.days_a, result.days_b,
             result.switch_day, [(c.metric, c.n_a, c.n_b, c.significant) for c in result.comparisons],
             {key: frame.to_dicts() for key, frame in result.mix.items()}]
    figures = [x for c in result.comparisons for x in (c.value_a, c.value_b, c.difference, c.p_value)]
    return exact, figures


def test_every_period_is_compared_alike_from_the_traffic_on_record(demo_warehouse: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads the arms' calls per agent, model and day once over the days on record and takes
    each period's from it (ui/data.py): the same comparison, and the same days each arm ran, as
    reading them for the period; a period that holds one arm only then reads nothing more."""
    a, b = arm("clinic-scheduler", "v1"), arm("clinic-scheduler", "v2")
    on_record = ab.traffic(*ab.on_record(a, b, FIRST_DAY, DEMO_END_DAY))
    ran = ab.when_arms_ran(a, b, FIRST_DAY, DEMO_END_DAY)
    assert ab.when_arms_ran(a, b, FIRST_DAY, DEMO_END_DAY, on_record) == ran and ran.switch_day is not None
    late = (DEMO_END_DAY - timedelta(days=27), DEMO_END_DAY)
    overlapping = (ran.switch_day - timedelta(days=3), DEMO_END_DAY)
    for start, end in ((FIRST_DAY, DEMO_END_DAY), late, ran.window(7), overlapping):
        x, y = (replace(f, start=start, end=end) for f in (a, b))
        exact, figures = _figures(ab.compare(x, y))
        given_exact, given_figures = _figures(ab.compare(x, y, on_record))
        assert given_exact == exact and given_figures == pytest.approx(figures, nan_ok=True), (start, end)
    x, y = (replace(f, start=late[0], end=late[1]) for f in (a, b))
    assert ab.compare(x, y).calls_a == 0, "the last 28 days hold no clinic v1 call"

    def no_read() -> None:
        raise AssertionError("read the warehouse")

    monkeypatch.setattr(ab, "source", no_read)
    assert ab.compare(x, y, on_record).calls_b > 0


def test_any_lists_picked_are_compared_by_the_reads_compiled_first(demo_warehouse: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The arms' agents, prompt versions and models are parameters even when none is picked, so the
    first model or agent picked compiles nothing anew (on the page it compiled for ~350 ms); the
    values stay those of each list picked or not (the tests above)."""
    a, b = arm("clinic-scheduler", "v1"), arm("clinic-scheduler", "v2")
    ab.compare(a, b)
    compiled = []
    compile_read = prepared._compile
    monkeypatch.setattr(prepared, "_compile", lambda *args: compiled.append(args) or compile_read(*args))
    clinic_model = ("claude-sonnet-4-5",)
    assert ab.compare(replace(a, models=clinic_model), replace(b, models=clinic_model)).calls_a > 0
    whole = (FIRST_DAY, DEMO_END_DAY)
    assert ab.compare(Filters(*whole, models=("gpt-4.1",)), Filters(*whole, models=("gpt-4.1-mini",))).agents
    assert compiled == []
