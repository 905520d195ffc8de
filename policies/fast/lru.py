"""LRU replay kernel (Numba) and its pure-Python twin ``lru_ref`` (same body).

Must decide exactly like ``memsim.policies.eviction.lru.LRU`` driven by ``memsim.policies.replay``.
The list is inlined with scalar head/tail (NOTE: for speed: array-held ends
alias the link array and cost ~5x on 10M accesses).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lru_ref", "lru_kernel", "run"]


def lru_ref(ids, sizes, capacity, n_ids, hit):
    link = np.full(2 * n_ids, -1, np.int64)   # link[2x]: older neighbour, link[2x+1]: newer
    incache = np.zeros(n_ids, np.bool_)
    csize = np.zeros(n_ids, np.int64)
    head = -1                                   # oldest (next victim)
    tail = -1                                   # newest
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
            if tail != x:                       # move x to the newest end
                p = link[2 * x]
                q = link[2 * x + 1]
                if p >= 0:
                    link[2 * p + 1] = q
                else:
                    head = q
                link[2 * q] = p
                link[2 * x] = tail
                link[2 * x + 1] = -1
                link[2 * tail + 1] = x
                tail = x
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:              # evict from the oldest end
            v = head
            q = link[2 * v + 1]
            head = q
            if q >= 0:
                link[2 * q] = -1
            else:
                tail = -1
            incache[v] = False
            used -= csize[v]
        link[2 * x] = tail
        link[2 * x + 1] = -1
        if tail >= 0:
            link[2 * tail + 1] = x
        else:
            head = x
        tail = x
        incache[x] = True
        csize[x] = s
        used += s
    return hits


lru_kernel = njit(cache=True)(lru_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = lru_ref if ref else lru_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
