"""FIFO replay kernel (Numba) and its pure-Python twin ``fifo_ref`` (same body)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["fifo_ref", "fifo_kernel", "run"]


def fifo_ref(ids, sizes, capacity, n_ids, hit):
    prev = np.full(n_ids, -1, np.int64)
    nxt = np.full(n_ids, -1, np.int64)
    head = np.full(1, -1, np.int64)
    tail = np.full(1, -1, np.int64)
    incache = np.zeros(n_ids, np.bool_)
    csize = np.zeros(n_ids, np.int64)
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
            v = head[0]
            unlink(prev, nxt, head, tail, 0, v)
            incache[v] = False
            used -= csize[v]
        push(prev, nxt, head, tail, 0, x)
        incache[x] = True
        csize[x] = s
        used += s
    return hits


fifo_kernel = njit(cache=True)(fifo_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = fifo_ref if ref else fifo_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
