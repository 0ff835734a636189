"""Drawing review samples: deterministic per seed, independent of row order, stable when calls
arrive for other days, and weighted by the inverse inclusion probability."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from warehouse import reviews
from warehouse.db import transaction
from warehouse.sampling import Candidate, draw


def population(n: int = 300, flagged_every: int = 5) -> list[Candidate]:
    agents = ("a", "b", "c", "d")
    return [Candidate(f"call-{i}", agents[i % 7 % 4], i % flagged_every == 0) for i in range(n)]


@pytest.mark.parametrize("strategy", ["uniform", "stratified_agent", "oversample_flagged"])
def test_the_same_seed_draws_the_same_calls_whatever_the_row_order(strategy: str) -> None:
    calls = population()
    shuffled = random.Random(3).sample(calls, len(calls))
    first = draw(calls, strategy, 50, seed=11)
    assert first == draw(shuffled, strategy, 50, seed=11)
    assert len(first) == 50 and len({d.call_id for d in first}) == 50
    other = draw(calls, strategy, 50, seed=12)
    assert {d.call_id for d in first} != {d.call_id for d in other}


def test_a_uniform_draw_is_the_calls_with_the_smallest_keys_and_weights_n_over_k() -> None:
    calls = population(200)
    drawn = draw(calls, "uniform", 20, seed=5)
    assert all(d.weight == pytest.approx(200 / 20) for d in drawn)
    # Adding calls can only push a drawn call out by taking its place; the rest stay in.
    more = calls + [Candidate(f"new-{i}") for i in range(50)]
    again = {d.call_id for d in draw(more, "uniform", 20, seed=5)}
    kept = {d.call_id for d in drawn} & again
    assert len(again - kept) == 20 - len(kept)  # what left was replaced by new calls only
    assert all(c.startswith("new-") for c in again - kept)


def test_uniform_draws_are_not_biased_towards_any_call() -> None:
    calls = population(40)
    hits = Counter(d.call_id for seed in range(2000) for d in draw(calls, "uniform", 10, seed))
    expected = 2000 * 10 / 40
    assert len(hits) == 40
    assert max(abs(count - expected) for count in hits.values()) < 0.25 * expected


def test_oversampling_takes_half_from_flagged_calls_with_weights_that_rebuild_the_population() -> None:
    calls = population(300, flagged_every=5)  # 60 flagged, 240 not
    drawn = draw(calls, "oversample_flagged", 50, seed=2)
    flagged = {c.call_id for c in calls if c.flagged}
    in_flagged = [d for d in drawn if d.call_id in flagged]
    others = [d for d in drawn if d.call_id not in flagged]
    assert len(in_flagged) == 25 and len(others) == 25
    assert all(d.weight == pytest.approx(60 / 25) for d in in_flagged)
    assert all(d.weight == pytest.approx(240 / 25) for d in others)
    assert sum(d.weight for d in drawn) == pytest.approx(300)


def test_oversampling_fills_up_from_the_other_group_when_few_calls_are_flagged() -> None:
    calls = population(100, flagged_every=50)  # 2 flagged
    drawn = draw(calls, "oversample_flagged", 10, seed=1)
    assert len(drawn) == 10
    assert sum(d.call_id in {"call-0", "call-50"} for d in drawn) == 2
    assert sum(d.weight for d in drawn) == pytest.approx(100)


def test_stratified_draws_every_agent_in_proportion() -> None:
    calls = [Candidate(f"a{i}", "big") for i in range(270)] + [Candidate(f"b{i}", "small") for i in range(30)]
    calls.append(Candidate("lonely", "rare"))
    drawn = draw(calls, "stratified_agent", 31, seed=9)
    by_agent = Counter(d.call_id.rstrip("0123456789") for d in drawn)
    assert by_agent == {"a": 27, "b": 3, "lonely": 1}
    weights = {d.call_id.rstrip("0123456789"): d.weight for d in drawn}
    assert weights == {"a": pytest.approx(10), "b": pytest.approx(10), "lonely": pytest.approx(1)}


def test_asking_for_more_calls_than_there_are_draws_them_all() -> None:
    drawn = draw(population(7), "uniform", 50, seed=1)
    assert len(drawn) == 7 and all(d.weight == 1 for d in drawn)


def _add_calls(path: Path, day: date, count: int) -> None:
    started = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    rows = [(f"late-{day}-{i}", started, started, day) for i in range(count)]
    with transaction(path) as con:
        con.executemany(
            "INSERT INTO calls (call_id, agent, started_at, ended_at, day, source, updated_at)"
            " VALUES (?, 'salon-booker', ?, ?, ?, 'otlp', ?)",
            [(*row, row[1]) for row in rows],
        )


@pytest.mark.parametrize("strategy", ["uniform", "stratified_agent", "oversample_flagged"])
def test_the_same_seed_and_filters_draw_the_same_calls_after_other_days_get_more_calls(
    synthetic_warehouse: Path, strategy: str
) -> None:
    spec = reviews.SessionSpec("w", date(2026, 10, 5), date(2026, 10, 11), seed=77, sample_size=20,
                               strategy=strategy, agents=("salon-booker", "clinic-scheduler"))
    before = reviews.draw_sample(spec)
    _add_calls(synthetic_warehouse, date(2026, 10, 4), 40)
    _add_calls(synthetic_warehouse, date(2026, 10, 12), 40)
    assert reviews.draw_sample(spec) == before
    _add_calls(synthetic_warehouse, date(2026, 10, 6), 40)  # the same days: the draw may change
    assert reviews.draw_sample(spec) != before


def test_a_session_stores_its_draw_and_its_seed(synthetic_warehouse: Path) -> None:
    spec = reviews.SessionSpec("Week 41", date(2026, 10, 5), date(2026, 10, 11), seed=4242, sample_size=15,
                               outcomes=("booked",))
    session = reviews.get_session(reviews.create_session(spec))
    assert session is not None and session.seed == 4242 and session.sample_size == 15
    assert list(session.call_ids) == [d.call_id for d in reviews.draw_sample(spec)]
    assert session.filters["outcomes"] == ["booked"]
    import duckdb

    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    booked = {row[0] for row in con.execute(
        "SELECT call_id FROM outcomes WHERE booked GROUP BY call_id").fetchall()}  # fmt: skip
    days = dict(con.execute("SELECT call_id, day FROM calls").fetchall())
    con.close()
    assert set(session.call_ids) <= booked
    assert all(date(2026, 10, 5) <= days[c] <= date(2026, 10, 11) for c in session.call_ids)


def test_a_session_with_no_matching_call_is_refused_plainly(synthetic_warehouse: Path) -> None:
    spec = reviews.SessionSpec("empty", date(2030, 1, 1), date(2030, 1, 7), seed=1)
    with pytest.raises(reviews.ReviewRefused, match="No call matches"):
        reviews.create_session(spec)
    assert reviews.list_sessions().is_empty()
