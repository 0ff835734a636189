"""The overview colours a change only when it is unlikely to be noise: simulations with a known
truth. Each seed draws two periods of calls (answers, replies, judgements) from known
distributions, summarises them as the metric definitions do, and asks each card's noise test
(warehouse/metric_registry.py) whether to colour the change.

Stationary truth: fewer than 5% of cards may be coloured. A planted shift of about 4.5 standard
errors, in the bad direction, must be coloured in nearly every seed. The per-day intervals drawn
as trend bands must cover the truth about 95% of the time."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from warehouse.metric_registry import METRICS, unlikely_noise

SEEDS = range(300)
CARDS = [m for m in METRICS if m.owner]
NPS_ANSWERS = np.arange(11)
SCORES = np.arange(1, 6)


@dataclass(frozen=True)
class Truth:
    """What one period's calls are drawn from."""

    calls: int = 2000
    conversion: float = 0.50
    resolution: float = 0.93
    error: float = 0.03
    hallucination: float = 0.04
    nps_answers: tuple[float, ...] = (0.04, 0.02, 0.02, 0.03, 0.03, 0.06, 0.08, 0.12, 0.2, 0.2, 0.2)
    cost_log_mean: float = np.log(0.07)
    scores: tuple[float, ...] = (0.05, 0.05, 0.1, 0.4, 0.4)
    latency_log_median: float = np.log(1250.0)
    interruption: float = 0.10
    dead_air: float = 0.08
    agent_talk_log_median: float = np.log(36.0)  # seconds per call; the caller's is CALLER_TALK_S
    hang_up: float = 0.03


STATIONARY = Truth()
# Each shift is about 4.5 standard errors of its test at 2,000 calls a period, and bad news.
WORSE = replace(
    STATIONARY, conversion=0.42, resolution=0.885, error=0.06, hallucination=0.085, cost_log_mean=np.log(0.078),
    nps_answers=(0.12, 0.04, 0.04, 0.05, 0.05, 0.06, 0.08, 0.12, 0.16, 0.14, 0.14),
    scores=(0.08, 0.09, 0.13, 0.38, 0.32), latency_log_median=np.log(1340.0),
    interruption=0.145, dead_air=0.12, agent_talk_log_median=np.log(40.5), hang_up=0.06,
)

COST_LOG_SD, LATENCY_LOG_SD, REPLIES_PER_CALL = 0.6, 0.45, 5
OUTCOME_SHARE, SURVEY_SHARE, JUDGED_SHARE = 0.9, 0.3, 0.6
CALLER_TALK_S, TALK_LOG_SD = 30.0, 0.5


def _talk_ratio(rng: np.random.Generator, truth: Truth) -> tuple[float, float]:
    """The agent's share of speaking time over the calls and its delta-method spread, as
    `metrics.conversation_metrics` computes them from each call's speaking times."""
    agent = rng.lognormal(truth.agent_talk_log_median, TALK_LOG_SD, truth.calls)
    speech = agent + rng.lognormal(np.log(CALLER_TALK_S), TALK_LOG_SD, truth.calls)
    ratio = agent.sum() / speech.sum()
    return float(ratio), float(np.std(agent - ratio * speech, ddof=1) / speech.mean())


def _share(rng: np.random.Generator, n: int, p: float) -> tuple[float, int]:
    return (rng.binomial(n, p) / n, n) if n else (float("nan"), 0)


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1))


def draw(rng: np.random.Generator, truth: Truth, slow_tail: float = 1.0) -> tuple[dict, np.ndarray]:
    """One period's summary row, as `warehouse/metrics.py` computes it, and its reply latencies.
    `slow_tail` stretches the slowest replies (above the median) to move p95 more than p50."""
    calls = truth.calls
    row: dict = {"calls": calls}
    row["conversion_rate"], row["conversion_n"] = _share(rng, rng.binomial(calls, OUTCOME_SHARE), truth.conversion)
    row["resolution_rate"], row["resolution_n"] = _share(rng, rng.binomial(calls, OUTCOME_SHARE), truth.resolution)
    row["error_rate"], _ = _share(rng, calls, truth.error)
    judged = rng.binomial(calls, JUDGED_SHARE)
    row["judged_calls"] = judged
    row["hallucination_rate"], _ = _share(rng, judged, truth.hallucination)
    row["eval_score"], row["eval_score_sd"] = _mean_sd(rng.choice(SCORES, judged, p=truth.scores).astype(float))
    answers = rng.choice(NPS_ANSWERS, rng.binomial(calls, SURVEY_SHARE), p=truth.nps_answers)
    parts = np.where(answers >= 9, 100.0, np.where(answers <= 6, -100.0, 0.0))
    row["nps"], row["nps_sd"] = _mean_sd(parts)
    row["nps_responses"] = len(answers)
    row["cost_per_call_usd"], row["cost_per_call_sd"] = _mean_sd(rng.lognormal(truth.cost_log_mean, COST_LOG_SD, calls))
    row["priced_calls"] = calls
    latencies = rng.lognormal(truth.latency_log_median, LATENCY_LOG_SD, calls * REPLIES_PER_CALL)
    median = np.exp(truth.latency_log_median)
    latencies = np.where(latencies > median, median + (latencies - median) * slow_tail, latencies)
    row["replies"] = len(latencies)
    row["latency_p50_ms"], row["latency_p90_ms"], row["latency_p95_ms"] = np.percentile(latencies, [50, 90, 95])
    row["voice_calls"] = calls
    row["interruption_rate"], _ = _share(rng, calls, truth.interruption)
    row["dead_air_rate"], _ = _share(rng, calls, truth.dead_air)
    row["talk_ratio"], row["talk_ratio_sd"] = _talk_ratio(rng, truth)
    row["hang_up_rate"], row["ended_calls"] = _share(rng, calls, truth.hang_up)
    return row, latencies


def two_periods(seed: int, before: Truth, now: Truth, slow_tail: float = 1.0) -> tuple[dict, dict]:
    """Both periods' rows, with each period's share of replies above the pooled p50, p90 and p95
    (linear-interpolation percentiles, as DuckDB's quantile_cont)."""
    rng = np.random.default_rng(seed)
    (first, first_latencies), (second, second_latencies) = draw(rng, now, slow_tail), draw(rng, before)
    pooled = np.percentile(np.concatenate([first_latencies, second_latencies]), [50, 90, 95])
    for row, latencies in ((first, first_latencies), (second, second_latencies)):
        for percentile, cut in zip((50, 90, 95), pooled, strict=True):
            row[f"latency_p{percentile}_share_above_pooled"] = float((latencies > cut).mean())
    return first, second


def coloured(now: dict, before: dict) -> set[str]:
    return {m.key for m in CARDS if unlikely_noise(m.change_test(now, before))}


def test_on_stationary_data_fewer_than_5_percent_of_cards_are_coloured() -> None:
    shown = [len(coloured(*two_periods(seed, STATIONARY, STATIONARY))) for seed in SEEDS]
    share_of_cards = sum(shown) / (len(SEEDS) * len(CARDS))
    share_of_pages = sum(n > 0 for n in shown) / len(SEEDS)
    assert share_of_cards < 0.05
    assert share_of_pages < 0.08  # the level is 5% for the whole page; allow for 300 seeds' spread


def test_a_planted_shift_is_coloured_and_is_bad_news() -> None:
    hits = {m.key: 0 for m in CARDS}
    for seed in SEEDS:
        now, before = two_periods(seed, STATIONARY, WORSE)
        for key in coloured(now, before):
            hits[key] += 1
            m = next(m for m in CARDS if m.key == key)
            assert (now[key] > before[key]) != m.higher_is_better, key
    assert {key: n / len(SEEDS) for key, n in hits.items()} == {key: pytest.approx(1.0, abs=0.1) for key in hits}


def test_a_slower_tail_alone_is_coloured_on_p95_and_not_on_p50() -> None:
    runs = [two_periods(seed, STATIONARY, STATIONARY, slow_tail=1.12) for seed in SEEDS[:100]]
    p95 = next(m for m in CARDS if m.key == "latency_p95_ms")
    p50 = next(m for m in CARDS if m.key == "latency_p50_ms")
    assert sum(unlikely_noise(p95.change_test(now, before)) for now, before in runs) >= 90
    assert sum(unlikely_noise(p50.change_test(now, before)) for now, before in runs) <= 5


TRUE_VALUES = {
    "conversion_rate": STATIONARY.conversion,
    "hallucination_rate": STATIONARY.hallucination,
    "eval_score": float(np.dot(SCORES, STATIONARY.scores)),
    "cost_per_call_usd": float(np.exp(STATIONARY.cost_log_mean + COST_LOG_SD**2 / 2)),
    "nps": 100 * (sum(STATIONARY.nps_answers[9:]) - sum(STATIONARY.nps_answers[:7])),
    "interruption_rate": STATIONARY.interruption,
    # Equal log-spreads: each speaker's mean time is its median × the same factor, which cancels.
    "talk_ratio": float(np.exp(STATIONARY.agent_talk_log_median)
                        / (np.exp(STATIONARY.agent_talk_log_median) + CALLER_TALK_S)),
}


@pytest.mark.parametrize("key", TRUE_VALUES)
def test_a_days_interval_band_covers_the_truth_about_95_percent_of_the_time(key: str) -> None:
    m = next(m for m in CARDS if m.key == key)
    one_day = replace(STATIONARY, calls=80)
    covered = 0
    for seed in SEEDS:
        low, high = m.interval(draw(np.random.default_rng(seed), one_day)[0])
        covered += low <= TRUE_VALUES[key] <= high
    assert 0.90 <= covered / len(SEEDS) <= 0.985
