"""LRU stack distances in one pass (Fenwick tree over last-access marks) and a twin.

``out[i]`` is the number of distinct keys accessed since the previous access of
``ids[i]``, plus one (its position in the LRU stack), or 0 for a first access.
An access hits an LRU cache of C unit-size objects iff 0 < distance <= C.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["stack_distances_ref", "stack_distances_kernel", "stack_distances"]


def stack_distances_ref(ids, n_ids):
    n = ids.shape[0]
    tree = np.zeros(n + 1, np.int64)     # Fenwick tree: 1 at each key's last access
    last = np.full(n_ids, -1, np.int64)
    out = np.zeros(n, np.int64)
    marks = 0
    for i in range(n):
        x = ids[i]
        p = last[x]
        if p >= 0:
            # marks at positions <= p (prefix sum up to p, 1-based index p + 1)
            s = 0
            j = p + 1
            while j > 0:
                s += tree[j]
                j -= j & (-j)
            out[i] = marks - s + 1
            j = p + 1
            while j <= n:
                tree[j] -= 1
                j += j & (-j)
            marks -= 1
        j = i + 1
        while j <= n:
            tree[j] += 1
            j += j & (-j)
        marks += 1
        last[x] = i
    return out


stack_distances_kernel = njit(cache=True)(stack_distances_ref)


def stack_distances(ids, n_ids=None) -> np.ndarray:
    ids = np.ascontiguousarray(ids, np.int64)
    n_ids = int(ids.max()) + 1 if n_ids is None and len(ids) else (n_ids or 1)
    return stack_distances_kernel(ids, np.int64(n_ids))
