"""SIEVE replay kernel (Numba) and its pure-Python twin ``sieve_ref`` (same body).

The list runs oldest (head) to newest (tail); the hand moves toward newer keys
and wraps to the oldest, as in libCacheSim's Sieve.c.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["sieve_ref", "sieve_kernel", "run"]


def sieve_ref(ids, sizes, capacity, n_ids, hit):
    prev = np.full(n_ids, -1, np.int64)
    nxt = np.full(n_ids, -1, np.int64)
    head = np.full(1, -1, np.int64)
    tail = np.full(1, -1, np.int64)
    incache = np.zeros(n_ids, np.bool_)
    visited = np.zeros(n_ids, np.bool_)
    csize = np.zeros(n_ids, np.int64)
    hand = -1
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
            visited[x] = True
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            v = hand if hand >= 0 else head[0]
            while visited[v]:
                visited[v] = False
                v = nxt[v] if nxt[v] >= 0 else head[0]
            hand = nxt[v]
            unlink(prev, nxt, head, tail, 0, v)
            incache[v] = False
            used -= csize[v]
        push(prev, nxt, head, tail, 0, x)
        incache[x] = True
        visited[x] = False
        csize[x] = s
        used += s
    return hits


sieve_kernel = njit(cache=True)(sieve_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = sieve_ref if ref else sieve_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
