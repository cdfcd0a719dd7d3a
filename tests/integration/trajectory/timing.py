"""Whether two samples of response times differ by more than a margin: a Mann-Whitney test.

Pure Python (no SciPy): the U statistic with mid-ranks for ties and its normal
approximation with the tie correction, which is accurate for the hundreds of requests a
timing test takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median


def p_greater(xs: Sequence[float], ys: Sequence[float]) -> float:
    """One-sided p-value of the hypothesis that values of ``xs`` tend to exceed those of
    ``ys`` (Mann-Whitney U, normal approximation with tie and continuity corrections)."""
    n1, n2 = len(xs), len(ys)
    pooled = sorted([(x, 0) for x in xs] + [(y, 1) for y in ys])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    rank_sum = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class Comparison:
    """Two samples of times (ms) and the verdict of :func:`compare`."""

    median_a: float
    median_b: float
    p_a_slower: float  # a exceeds b by more than the margin
    p_b_slower: float  # b exceeds a by more than the margin
    alpha: float

    @property
    def differs(self) -> bool:
        return min(self.p_a_slower, self.p_b_slower) < self.alpha

    def __str__(self) -> str:
        return (
            f"medians {self.median_a:.2f} ms vs {self.median_b:.2f} ms; p(a slower by more "
            f"than the margin) = {self.p_a_slower:.2g}, p(b slower) = {self.p_b_slower:.2g}"
        )


def compare(
    a: Sequence[float], b: Sequence[float], margin: float = 1.0, alpha: float = 0.001
) -> Comparison:
    """Whether ``a`` and ``b`` differ by more than ``margin`` either way: each one-sided
    test shifts the sample it suspects down by ``margin`` first, so a difference smaller
    than the margin (the noise of a shared machine) is never reported, and one of twice
    the margin is, given a few hundred values each."""
    return Comparison(
        median(a),
        median(b),
        p_greater([x - margin for x in a], b),
        p_greater([y - margin for y in b], a),
        alpha,
    )
