"""LRU replay kernel (Numba) and its pure-Python twin ``lru_ref`` (same body).

Must decide exactly like ``policies.eviction.lru.LRU`` driven by ``policies.replay``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["lru_ref", "lru_kernel", "run"]


def lru_ref(ids, sizes, capacity, n_ids, hit):
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
            if tail[0] != x:
                unlink(prev, nxt, head, tail, 0, x)
                push(prev, nxt, head, tail, 0, x)
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


lru_kernel = njit(cache=True)(lru_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = lru_ref if ref else lru_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
