"""Owned metrics computed a second way (plain Python over raw rows) to check the ibis definitions."""

from __future__ import annotations

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


def owned_metrics(path: Path, f: Filters) -> dict[str, float | int | None]:
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
    in_scope = list(calls)
    booked = [latest.get((c, "booked")) for c in in_scope]
    nps = [v for c in in_scope if (v := latest.get((c, "nps"))) is not None]
    resolved = [latest.get((c, "resolved")) for c in in_scope]
    latencies = [
        t["response_latency_ms"] for t in _rows(path, "SELECT * FROM turns")
        if t["call_id"] in calls and t["speaker"] == "agent" and t["response_latency_ms"] is not None
    ]
    newest: dict[str, dict] = {}
    for j in _rows(path, "SELECT * FROM judgements WHERE status = 'ok'"):
        known = newest.get(j["call_id"])
        if j["call_id"] in calls and (known is None or j["created_at"] > known["created_at"]):
            newest[j["call_id"]] = j
    return {
        "calls": len(calls),
        "conversion_rate": _mean(booked),
        "nps": (100 * (sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)) / len(nps)) if nps else None,
        "resolution_rate": _mean(resolved),
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "error_rate": _mean([c["error_count"] > 0 for c in calls.values()]),
        "cost_per_call_usd": _mean([c["cost_usd"] or 0 for c in calls.values()]),
        "eval_score": _mean([j["score"] for j in newest.values()]),
        "hallucination_rate": _mean([j["hallucination"] for j in newest.values()]),
    }
