"""Which memory level serves a working set: the fractional-fit rule.

A working set of W bytes swept by a kernel is served by level i for the fraction
``min(1, C_i / W) - min(1, C_{i-1} / W)`` of its bytes (C = cumulative reachable
capacity).  Bandwidth combines harmonically (time per byte adds), latency linearly.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Level", "fractions", "effective_bandwidth", "effective_latency"]


@dataclass(frozen=True)
class Level:
    """One measured level: capacity per instance, single-core read bandwidth and latency."""

    name: str
    kind: str
    capacity_bytes: int
    count: int
    read_bytes_per_s: float
    latency_s: float
    probe_bytes: int
    line_bytes: int
    source: str


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
