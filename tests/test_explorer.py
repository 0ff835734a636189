"""The explorer's counts, lost conversions, trend and matching calls against plain Python over
the raw rows of a demo warehouse with human reviews."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.failure_mode_fixture import PERIOD, independent, reviewed_demo
from warehouse import explorer
from warehouse.filters import Filters
from warehouse.taxonomy import Taxonomy

FILTERS = Filters(*PERIOD)


@pytest.fixture(scope="module")
def reviewed(demo_build: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reviewed_demo(demo_build[0], tmp_path_factory.mktemp("explorer"))


@pytest.fixture
def warehouse(reviewed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALLBOARD_DB", str(reviewed))
    return reviewed


@pytest.mark.parametrize("source", ["judge", "human", "both"])
def test_counts_and_lost_conversions_match_plain_python(warehouse: Path, source: str) -> None:
    e = explorer.explore(FILTERS, source)
    expected = independent(warehouse, FILTERS, source)
    assert e.looked_at == len(expected["modes"])
    assert dict(zip(e.summary["mode"], e.summary["calls"], strict=True)) == expected["counts"]
    assert e.clean_conversion == pytest.approx(expected["baseline"])
    for row in e.summary.iter_rows(named=True):
        if expected["lost"][row["mode"]] is None:
            assert row["lost_conversions"] is None
        else:
            assert row["lost_conversions"] == pytest.approx(expected["lost"][row["mode"]])
            assert row["lost_low"] <= row["lost_conversions"] <= row["lost_high"]
    matching = {c for c, ms in expected["modes"].items() if ms}
    assert set(e.calls["call_id"]) == matching


def test_filters_narrow_the_counts_and_the_calls(warehouse: Path) -> None:
    f = Filters(*PERIOD, agents=("salon-booker",))
    e = explorer.explore(f, "judge", modes=("slow_turn", "hallucinated_fact"))
    expected = independent(warehouse, f, "judge", agents=("salon-booker",))
    assert set(e.summary["mode"]) == {"slow_turn", "hallucinated_fact"}
    assert dict(zip(e.summary["mode"], e.summary["calls"], strict=True)) == {
        m: expected["counts"][m] for m in ("slow_turn", "hallucinated_fact")
    }
    wanted = {c for c, ms in expected["modes"].items() if ms & {"slow_turn", "hallucinated_fact"}}
    assert set(e.calls["call_id"]) == wanted
    by_week = Counter()
    for c in wanted:
        for m in expected["modes"][c] & {"slow_turn"}:
            by_week[m] += 1
    assert e.trend.filter(e.trend["mode"] == "slow_turn")["calls"].sum() == by_week["slow_turn"]


def test_the_costliest_mode_lost_the_most(warehouse: Path) -> None:
    e = explorer.explore(FILTERS, "judge")
    expected = independent(warehouse, FILTERS, "judge")
    causes = {m: v for m, v in expected["lost"].items() if v is not None}
    assert e.costliest["mode"] == max(causes, key=causes.get)
    assert e.costliest["lost_conversions"] > 0


def test_people_labels_count_only_from_uniformly_drawn_sessions() -> None:
    """An oversampled session holds more judge-flagged calls than the period does; its labels would
    inflate those modes' shares, so the People source leaves them out (the Judge source keeps them
    in its call table)."""
    frame = pl.DataFrame({
        "call_id": ["uniform", "oversampled", "unreviewed"],
        "judged": [True, True, True],
        "judge_labels": [["slow_turn"], ["slow_turn"], []],
        "reviewed": [True, True, False],
        "human_labels": [["slow_turn"], ["slow_turn"], None],
        "review_session": ["s-uniform", "s-flagged", None],
    })  # fmt: skip
    sessions = pl.DataFrame({"session_id": ["s-uniform", "s-flagged"], "strategy": ["uniform", "oversample_flagged"]})
    taxonomy = Taxonomy(pl.DataFrame({"name": ["slow_turn"]}), {"slow_turn": "slow_turn"})
    marked = explorer.mark_uniform_reviews(frame, sessions)
    assert marked["uniform_review"].to_list() == [True, False, False]
    people = explorer.with_labels(marked, taxonomy, "human")["modes"].to_list()
    assert people == [["slow_turn"], None, None]
    both = explorer.with_labels(marked, taxonomy, "both")["modes"].to_list()
    assert both == [["slow_turn"], None, None]
    judge = explorer.with_labels(marked, taxonomy, "judge")
    assert judge["modes"].to_list() == [["slow_turn"], ["slow_turn"], []]
    assert judge["human_modes"].to_list()[1] == ["slow_turn"]


def _per_call_bootstrap(labelled: pl.DataFrame, mode: str, draws: int, seed: int) -> tuple[float, float]:
    """The interval drawn the plain way: every draw resamples the calls themselves."""
    calls = labelled.filter(pl.col("booked").is_not_null())
    booked = calls["booked"].cast(pl.Float64).to_numpy()
    clean = (calls["modes"].list.len() == 0).to_numpy()
    has = calls["modes"].list.contains(mode).to_numpy()
    rng = np.random.default_rng(seed)
    lost = []
    for _ in range(draws):
        picked = rng.integers(0, calls.height, calls.height)
        baseline = booked[picked][clean[picked]].mean()
        lost.append(has[picked].sum() * baseline - booked[picked][has[picked]].sum())
    low, high = np.percentile(lost, [2.5, 97.5])
    return float(low), float(high)


def test_the_lost_conversions_interval_is_the_per_call_bootstrap() -> None:
    """The explorer draws over kinds of calls (alike in booking and modes), not over the calls: its
    interval must be the one resampling every call gives, within the draws' own noise."""
    rng = np.random.default_rng(7)
    n = 3000
    slow = rng.random(n) < 0.2
    booked = rng.random(n) < np.where(slow, 0.35, 0.55)  # the truth: a slow call books 20 pts less
    labelled = pl.DataFrame({"booked": booked.tolist(),
                             "modes": [["slow_turn"] if s else [] for s in slow]})
    found = explorer.lost_conversion_intervals(labelled, (), ["slow_turn"], draws=4000)["slow_turn"]
    expected = _per_call_bootstrap(labelled, "slow_turn", draws=4000, seed=11)
    spread = expected[1] - expected[0]
    assert found[0] == pytest.approx(expected[0], abs=0.06 * spread)
    assert found[1] == pytest.approx(expected[1], abs=0.06 * spread)
    assert found[0] < 0.2 * slow.sum() < found[1]  # and it covers the lost conversions planted
