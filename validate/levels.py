"""Which memory level serves a working set: whole-fit for sweeps, fractional for random loads.

A working set swept in order is served by the nearest level that holds all of
it (``fit_level``).  Random loads into W bytes hit level i with probability
``min(1, C_i / W) - min(1, C_{i-1} / W)`` (``fractions``); their latency mixes
linearly, a mixed sweep's bandwidth harmonically (time per byte adds).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Level", "fractions", "effective_bandwidth", "effective_latency", "fit_level"]


@dataclass(frozen=True)
class Level:
    """One measured level: capacity per instance, single-core read bandwidth and latency,
    and ``overlap``, the share of the shorter of memory and compute time the core
    hides under the longer when streaming from this level (0 = they add, 1 = roofline max).
    """

    name: str
    kind: str
    capacity_bytes: int
    count: int
    read_bytes_per_s: float
    latency_s: float
    probe_bytes: int
    line_bytes: int
    source: str
    overlap: float = 1.0


def fractions(working_set_bytes: float, capacities: list[int]) -> list[float]:
    """Share of a working set each level serves (sums to 1; the last level takes the rest)."""
    w = max(float(working_set_bytes), 1.0)
    out, prev = [], 0.0
    for i, cap in enumerate(capacities):
        cum = 1.0 if i == len(capacities) - 1 else min(1.0, cap / w)
        cum = max(cum, prev)
        out.append(cum - prev)
        prev = cum
    return out


def effective_bandwidth(working_set_bytes: float, levels) -> float:
    """Bytes/s of sweeping a working set: harmonic mix of the levels it spills over."""
    fr = fractions(working_set_bytes, [lv.capacity_bytes for lv in levels])
    return 1.0 / sum(f / lv.read_bytes_per_s for f, lv in zip(fr, levels) if f > 0)


def effective_latency(working_set_bytes: float, levels) -> float:
    """Seconds per random dependent load into a working set of this size."""
    fr = fractions(working_set_bytes, [lv.capacity_bytes for lv in levels])
    return sum(f * lv.latency_s for f, lv in zip(fr, levels))


def fit_level(working_set_bytes: float, levels):
    """The nearest level whose capacity holds the whole working set (streams: a swept
    set that overflows a level is served by the next one, as with LRU-like caches)."""
    for lv in levels:
        if working_set_bytes <= lv.capacity_bytes:
            return lv
    return levels[-1]
