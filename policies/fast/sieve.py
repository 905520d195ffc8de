"""SIEVE replay kernel (Numba) and its pure-Python twin ``sieve_ref`` (same body).

The list runs oldest (head) to newest (tail); the hand moves toward newer keys
and wraps to the oldest, as in libCacheSim's Sieve.c.  Inlined list with scalar
ends (NOTE: for speed).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sieve_ref", "sieve_kernel", "run"]


def sieve_ref(ids, sizes, capacity, n_ids, hit):
    link = np.full(2 * n_ids, -1, np.int64)   # link[2x]: older neighbour, link[2x+1]: newer
    incache = np.zeros(n_ids, np.bool_)
    visited = np.zeros(n_ids, np.bool_)
    csize = np.zeros(n_ids, np.int64)
    head = -1
    tail = -1
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
            v = hand if hand >= 0 else head
            while visited[v]:
                visited[v] = False
                v = link[2 * v + 1]
                if v < 0:
                    v = head
            p = link[2 * v]
            q = link[2 * v + 1]
            hand = q
            if p >= 0:
                link[2 * p + 1] = q
            else:
                head = q
            if q >= 0:
                link[2 * q] = p
            else:
                tail = p
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
        visited[x] = False
        csize[x] = s
        used += s
    return hits


sieve_kernel = njit(cache=True)(sieve_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = sieve_ref if ref else sieve_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
