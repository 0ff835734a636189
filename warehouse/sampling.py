"""Drawing the calls of a review session: deterministic, stable, and weighted honestly.

Each call gets a key from a hash of (seed, call id), and a group takes the calls with the smallest
keys. The draw therefore depends only on the seed and on which calls are candidates, never on row
order: the same seed and filters give the same calls, and calls ingested later for other days
(which are not candidates) cannot shift it.

Calls are shown in the order of a second hash (`order_key`), not of the drawing key: a small group
gives up its calls from further into the key range than a large one, so in drawing-key order the
flagged calls of an oversampled draw all came last, and a team that stopped at 30 of 50 had seen
few of them. The second hash mixes the groups evenly and is just as reproducible from the seed.

Each drawn call records its group (stratum) and its weight, the inverse of its inclusion
probability (calls in its group ÷ calls drawn from the group), so a rate measured on an
oversampled draw can be re-weighted to the population it came from, and re-weighted again over
the calls actually reviewed when a team stops early.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

STRATEGIES = {
    "uniform": "Uniform random",
    "stratified_agent": "Stratified by agent",
    "oversample_flagged": "Oversample judge-flagged calls",
}
FLAGGED_SHARE = 0.5  # of the draw, when oversampling judge-flagged calls


@dataclass(frozen=True)
class Candidate:
    call_id: str
    agent: str | None = None
    flagged: bool = False  # the judge's latest verdict failed the call or saw a hallucination


@dataclass(frozen=True)
class Drawn:
    call_id: str
    weight: float  # inverse inclusion probability
    stratum: str = "all"  # the group it was drawn from: "all", an agent, "flagged" or "other"


def sample_key(seed: int, call_id: str) -> int:
    """A call's place in the draw: a hash, so it is the same on every machine and every run
    (Python's `hash()` is salted per process; DuckDB's may change between versions)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{call_id}".encode()).digest()[:8], "big")


def order_key(seed: int, call_id: str) -> int:
    """A drawn call's place in the order shown: a hash independent of `sample_key`, so the order
    says nothing about which group a call came from."""
    return sample_key(seed, f"order:{call_id}")


def _allocate(sizes: dict[str, int], shares: dict[str, float], total: int, at_least_one: bool) -> dict[str, int]:
    """Split `total` draws over groups in proportion to `shares` (Sainte-Laguë highest averages),
    never giving a group more calls than it holds; what a small group cannot take goes to the
    others. With `at_least_one`, every group first gets one call while draws last."""
    given = dict.fromkeys(sizes, 0)
    left = min(total, sum(sizes.values()))
    if at_least_one:
        for group in sorted(sizes, key=lambda g: (-sizes[g], g))[:left]:
            given[group] = 1
        left -= sum(given.values())
    for _ in range(left):
        room = [g for g in sizes if given[g] < sizes[g]]
        best = max(room, key=lambda g: (shares[g] / (2 * given[g] + 1), sizes[g], g))
        given[best] += 1
    return given


def _group_by(candidates: Iterable[Candidate], group: Callable[[Candidate], str]) -> dict[str, list[Candidate]]:
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[group(candidate)].append(candidate)
    return groups


def draw(candidates: list[Candidate], strategy: str, size: int, seed: int) -> list[Drawn]:
    """The calls to review, in the order to show them, each with its weight."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown sampling strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}.")
    if size < 1:
        raise ValueError("The sample needs at least one call.")
    if strategy == "uniform":
        groups = {"all": list(candidates)}
        shares = {"all": 1.0}
    elif strategy == "stratified_agent":
        groups = _group_by(candidates, lambda c: c.agent or "")
        shares = {g: float(len(members)) for g, members in groups.items()}
    else:
        groups = _group_by(candidates, lambda c: "flagged" if c.flagged else "other")
        shares = {"flagged": FLAGGED_SHARE, "other": 1 - FLAGGED_SHARE}
    sizes = {g: len(members) for g, members in groups.items()}
    counts = _allocate(sizes, shares, size, at_least_one=strategy == "stratified_agent")
    drawn: list[Drawn] = []
    for group, members in groups.items():
        taken = counts[group]
        if not taken:
            continue
        ranked = sorted(members, key=lambda c: (sample_key(seed, c.call_id), c.call_id))[:taken]
        drawn += [Drawn(c.call_id, sizes[group] / taken, group) for c in ranked]
    return sorted(drawn, key=lambda d: (order_key(seed, d.call_id), d.call_id))
