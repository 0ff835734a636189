"""Fast scalar draws from a numpy Generator.

The generator makes dozens of small random choices per call; numpy's per-call overhead (about a
microsecond) would dominate, so uniforms and normals are drawn in blocks and handed out one by one.
The sequence stays a pure function of the Generator's seed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

_BLOCK = 4096


class Dice:
    """Random draws for one stream (one generated day); holds the block and its cursor."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._uniforms: list[float] = []
        self._normals: list[float] = []

    def uniform(self) -> float:
        if not self._uniforms:
            self._uniforms = self.rng.random(_BLOCK).tolist()
        return self._uniforms.pop()

    def normal(self) -> float:
        if not self._normals:
            self._normals = self.rng.standard_normal(_BLOCK).tolist()
        return self._normals.pop()

    def chance(self, p: float) -> bool:
        return self.uniform() < p

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high], both included."""
        return low + int(self.uniform() * (high - low + 1))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.uniform() * len(items))]

    def sample(self, items: Sequence[T], k: int) -> list[T]:
        """k distinct items in random order."""
        pool = list(items)
        return [pool.pop(int(self.uniform() * len(pool))) for _ in range(k)]

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(sigma * self.normal())

    def hex(self, nbytes: int) -> str:
        return self.rng.bytes(nbytes).hex()
