"""FIFO replay kernel (Numba) and its pure-Python twin ``fifo_ref`` (same body).

A FIFO needs only a singly linked queue: ``newer[x]`` and scalar head/tail
(NOTE: scalars, not arrays, for speed).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["fifo_ref", "fifo_kernel", "run"]


def fifo_ref(ids, sizes, capacity, n_ids, hit):
    newer = np.full(n_ids, -1, np.int64)
    incache = np.zeros(n_ids, np.bool_)
    csize = np.zeros(n_ids, np.int64)
    head = -1                                   # oldest
    tail = -1                                   # newest
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            v = head
            head = newer[v]
            if head < 0:
                tail = -1
            incache[v] = False
            used -= csize[v]
        newer[x] = -1
        if tail >= 0:
            newer[tail] = x
        else:
            head = x
        tail = x
        incache[x] = True
        csize[x] = s
        used += s
    return hits


fifo_kernel = njit(cache=True)(fifo_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = fifo_ref if ref else fifo_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
