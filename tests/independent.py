"""Owned metrics computed a second way (plain Python over raw rows) to check the ibis definitions."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from warehouse.filters import Filters


def _rows(path: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _mean(values: list) -> float | None:
    values = [float(v) for v in values if v is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Talk:
    """One call's conversation, from its turns taken one by one in the order they started."""

    barge_ins: int  # customer turns that start while the agent is still talking
    talk_overs: int  # agent turns that start while the customer is still talking
    longest_silence_ms: float  # the longest stretch with nobody talking between two turns (0: none)
    dead_air: bool  # a silence of the dead-air threshold or more between turns
    dead_air_count: int  # how many silences between turns reach the threshold
    agent_s: float
    speech_s: float
    longest_wait_ms: int | None  # the longest response latency of the agent's turns

    @property
    def talked_over(self) -> bool:
        """Someone started while the other speaker was still talking."""
        return self.barge_ins + self.talk_overs > 0


DEAD_AIR_MS = 3000


def talk(turns: list[dict], dead_air_ms: int = DEAD_AIR_MS) -> Talk:
    overs = {"customer": 0, "agent": 0}
    longest, dead_air_count = 0.0, 0
    heard_until, previous = None, None
    for turn in sorted(turns, key=lambda t: (t["started_at"], t["turn_index"])):
        if heard_until is not None:
            if turn["started_at"] < heard_until and turn["speaker"] != previous:
                overs[turn["speaker"]] += 1
            silence = (turn["started_at"] - heard_until).total_seconds() * 1000
            longest, dead_air_count = max(longest, silence), dead_air_count + (silence >= dead_air_ms)
        heard_until = max(heard_until or turn["ended_at"], turn["ended_at"])
        previous = turn["speaker"]
    seconds = [((t["ended_at"] - t["started_at"]).total_seconds(), t["speaker"]) for t in turns]
    waits = [t["response_latency_ms"] for t in turns if t.get("response_latency_ms") is not None]
    return Talk(overs["customer"], overs["agent"], longest, longest >= dead_air_ms, dead_air_count,
                sum(s for s, who in seconds if who == "agent"), sum(s for s, _ in seconds), max(waits, default=None))


@dataclass(frozen=True)
class Scope:
    """The raw rows one set of filters selects: calls by id, each call's outcome fields (booked,
    resolved: one per call, None when unknown; NPS answers: only those given), the agent's reply
    latencies and each call's newest successful judgement."""

    calls: dict[str, dict]
    booked: list
    nps: list
    resolved: list
    latencies: list[float]
    newest: dict[str, dict]
    talk: dict[str, Talk]


def scope(path: Path, f: Filters) -> Scope:
    def wanted(call: dict) -> bool:
        return (
            f.start <= call["day"] <= f.end
            and (not f.agents or call["agent"] in f.agents)
            and (not f.prompt_versions or call["prompt_version"] in f.prompt_versions)
            and (not f.models or call["model"] in f.models)
        )

    calls = {c["call_id"]: c for c in _rows(path, "SELECT * FROM calls") if wanted(c)}
    latest: dict[tuple[str, str], object] = {}
    for o in _rows(path, "SELECT * FROM outcomes WHERE call_id IS NOT NULL"):
        for field in ("booked", "nps", "resolved"):
            if o[field] is not None:
                latest[(o["call_id"], field)] = max(o[field], latest.get((o["call_id"], field), o[field]))
    turns = [t for t in _rows(path, "SELECT * FROM turns") if t["call_id"] in calls]
    latencies = [t["response_latency_ms"] for t in turns
                 if t["speaker"] == "agent" and t["response_latency_ms"] is not None]
    by_call: dict[str, list[dict]] = {}
    for t in turns:
        by_call.setdefault(t["call_id"], []).append(t)
    newest: dict[str, dict] = {}
    for j in _rows(path, "SELECT * FROM judgements WHERE status = 'ok'"):
        known = newest.get(j["call_id"])
        if j["call_id"] in calls and (known is None or j["created_at"] > known["created_at"]):
            newest[j["call_id"]] = j
    return Scope(
        calls=calls,
        booked=[latest.get((c, "booked")) for c in calls],
        nps=[v for c in calls if (v := latest.get((c, "nps"))) is not None],
        resolved=[latest.get((c, "resolved")) for c in calls],
        latencies=latencies,
        newest=newest,
        talk={call: talk(call_turns) for call, call_turns in by_call.items()},
    )


def owned_metrics(path: Path, f: Filters) -> dict[str, float | int | None]:
    s = scope(path, f)
    nps, latencies = s.nps, s.latencies
    return {
        "calls": len(s.calls),
        "conversion_rate": _mean(s.booked),
        "nps": (100 * (sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)) / len(nps)) if nps else None,
        "resolution_rate": _mean(s.resolved),
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p90_ms": float(np.percentile(latencies, 90)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "error_rate": _mean([c["error_count"] > 0 for c in s.calls.values()]),
        "cost_per_call_usd": _mean([c["cost_usd"] for c in s.calls.values() if c["cost_usd"] is not None]),
        "eval_score": _mean([j["score"] for j in s.newest.values()]),
        "hallucination_rate": _mean([j["hallucination"] for j in s.newest.values()]),
        "interruption_rate": _mean([t.talked_over for t in s.talk.values()]),
        "dead_air_rate": _mean([t.dead_air for t in s.talk.values()]),
        "talk_ratio": (sum(t.agent_s for t in s.talk.values()) / sum(t.speech_s for t in s.talk.values())
                       if s.talk else None),
        "hang_up_rate": _mean([c["end_reason"] == "caller_hung_up" for c in s.calls.values()
                               if c["end_reason"] is not None]),
    }


def _sd(values: list) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def sample_figures(path: Path, f: Filters, pooled: list[float]) -> dict[str, float | int | None]:
    """Each metric's sample size and what its noise test reads, for the filters' period; the
    shares above the percentiles of `pooled` (the latencies of every period compared)."""
    s = scope(path, f)
    p50, p90, p95 = np.percentile(pooled, 50), np.percentile(pooled, 90), np.percentile(pooled, 95)
    answers = [100.0 if v >= 9 else -100.0 if v <= 6 else 0.0 for v in s.nps]
    return {
        "conversion_n": sum(v is not None for v in s.booked),
        "resolution_n": sum(v is not None for v in s.resolved),
        "nps_responses": len(s.nps),
        "nps_sd": _sd(answers),
        "cost_per_call_sd": _sd([float(c["cost_usd"]) for c in s.calls.values() if c["cost_usd"] is not None]),
        "priced_calls": sum(c["cost_usd"] is not None for c in s.calls.values()),
        "unpriced_calls": sum(c["cost_usd"] is None for c in s.calls.values()),
        "replies": len(s.latencies),
        "latency_p50_share_above_pooled": _mean([v > p50 for v in s.latencies]),
        "latency_p90_share_above_pooled": _mean([v > p90 for v in s.latencies]),
        "latency_p95_share_above_pooled": _mean([v > p95 for v in s.latencies]),
        "judged_calls": len(s.newest),
        "eval_score_sd": _sd([float(j["score"]) for j in s.newest.values()]),
        "voice_calls": len(s.talk),
        "ended_calls": sum(c["end_reason"] is not None for c in s.calls.values()),
        "talk_ratio_sd": _talk_ratio_sd(list(s.talk.values())),
    }


def _talk_ratio_sd(talks: list[Talk]) -> float | None:
    """The talk ratio's spread for Welch's test, by the delta method: the sd of each call's
    agent time minus ratio × speaking time, over the mean speaking time."""
    if len(talks) < 2:
        return None
    ratio = sum(t.agent_s for t in talks) / sum(t.speech_s for t in talks)
    residual_sd = _sd([t.agent_s - ratio * t.speech_s for t in talks])
    return residual_sd / (sum(t.speech_s for t in talks) / len(talks)) if residual_sd is not None else None
