"""Next-access indices by one backwards pass (Numba) and its twin ``next_access_ref``.

``out[i]`` is the index of the next access of ``ids[i]``, or ``len(ids) + i`` if
there is none (distinct "never" values keep Belady's order total).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["next_access_ref", "next_access_kernel", "next_access"]


def next_access_ref(ids, n_ids):
    n = ids.shape[0]
    out = np.empty(n, np.int64)
    last = np.full(n_ids, -1, np.int64)
    for i in range(n - 1, -1, -1):
        x = ids[i]
        out[i] = last[x] if last[x] >= 0 else n + i
        last[x] = i
    return out


next_access_kernel = njit(cache=True)(next_access_ref)


def next_access(ids, n_ids=None) -> np.ndarray:
    """Next-access index of every access of the dense id array ``ids``."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n_ids = int(ids.max()) + 1 if n_ids is None and len(ids) else (n_ids or 1)
    return next_access_kernel(ids, np.int64(n_ids))
