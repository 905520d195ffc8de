"""Which memory level serves a working set: the nearest one that holds all of it.

Every kernel here sweeps its data in the same order on every run (a pointer chase
too: one random cycle), and a swept set that overflows an LRU-like cache misses on
every line, so the first level whose capacity holds the whole set serves it.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Level", "fit_level"]


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


def fit_level(working_set_bytes: float, levels):
    """The nearest level whose capacity holds the whole working set (the last otherwise)."""
    for lv in levels:
        if working_set_bytes <= lv.capacity_bytes:
            return lv
    return levels[-1]
