"""Streaming dot products: each row of a matrix dotted with a vector, ``work`` times.

Memory traffic of a streaming sum with tunable arithmetic per byte: against the
sum's bandwidth and its own in-L1 rate it shows how much memory time compute hides.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["stream_dot", "stream_dot_ref"]


def _stream_dot(a, q, out, passes, work):
    rows, d = a.shape
    for _ in range(passes):
        for r in range(rows):
            for w in range(work):
                acc = np.float32(0.0)
                for x in range(d):
                    acc += a[r, x] * q[x]
                out[r] += acc
    return out


def stream_dot_ref(a: np.ndarray, q: np.ndarray, passes: int = 1, work: int = 1) -> np.ndarray:
    """``passes * work * (a @ q)`` with NumPy in float64, cast to a's dtype."""
    return (passes * work * (a.astype(np.float64) @ q.astype(np.float64))).astype(a.dtype)


# NOTE: fastmath lets LLVM vectorise the dot, for speed.
_compiled = njit(cache=True, fastmath=True)(_stream_dot)


def stream_dot(a: np.ndarray, q: np.ndarray, passes: int = 1, work: int = 1,
               out: np.ndarray | None = None) -> np.ndarray:
    """Compiled row-wise dot products (each ``work`` times), summed over ``passes``
    sweeps into ``out`` (zeroed if given, allocated if not)."""
    if out is None:
        out = np.zeros(a.shape[0], a.dtype)
    else:
        out[:] = 0
    return _compiled(a, q, out, passes, work)
