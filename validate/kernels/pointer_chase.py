"""Pointer chasing: follow a random cycle, one dependent load per hop.

Each address comes from the previous load, so the time per hop is the latency of
the level holding the array; the cycle visits one slot per cache line.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["chase", "chase_ref", "make_cycle"]


def make_cycle(n: int, rng: np.random.Generator, *, stride: int = 8, out=None) -> np.ndarray:
    """``next`` array (int64, ``n`` slots) holding one random cycle through every
    ``stride``-th slot; the cycle has ``n // stride`` hops and includes slot 0.
    ``out`` (zeroed int64, ``n`` slots) is filled instead of a new array if given."""
    if n < 2 * stride:
        raise ValueError(f"n={n} slots is too small for stride={stride}")
    order = rng.permutation(n // stride) * stride
    nxt = np.zeros(n, dtype=np.int64) if out is None else out
    nxt[order] = np.roll(order, -1)
    return nxt


def _chase(nxt, start, hops):
    j = start
    for _ in range(hops):
        j = nxt[j]
    return j


def chase_ref(nxt: np.ndarray, start: int, hops: int) -> int:
    """Slot reached after ``hops`` hops from ``start`` (plain Python)."""
    return int(_chase(nxt, start, hops))


chase = njit(cache=True)(_chase)
