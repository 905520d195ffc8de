"""Streaming reduction: read a working set ``passes`` times and sum it.

The bandwidth of whichever cache level (or DRAM) holds the working set bounds
this kernel, so timing it over working sets from 16 KiB to 1 GiB traces the
host's memory hierarchy.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["stream_sum", "stream_sum_ref"]


def _stream_sum(a, passes):
    total = 0.0
    for _ in range(passes):
        s = np.float32(0.0)
        for i in range(a.size):
            s += a[i]
        total += s
    return total


def stream_sum_ref(a: np.ndarray, passes: int) -> float:
    """Sum of ``a`` (float32) added up ``passes`` times, with NumPy."""
    return float(np.float64(a.astype(np.float64).sum()) * passes)


# NOTE: fastmath lets LLVM reorder the float32 sum into SIMD lanes, for speed.
stream_sum = njit(cache=True, fastmath=True)(_stream_sum)
