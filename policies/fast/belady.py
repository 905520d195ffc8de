"""Belady replay kernel (a max-heap of next-access times, stale entries skipped) and its twin.

Also ``discard_bits``: for each access, whether Belady at this capacity drops
the key before its next access (the "safe to evict" bit the advice policy uses).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .next_access import next_access as _na

__all__ = ["belady_ref", "belady_kernel", "run", "discard_bits"]


def belady_ref(ids, sizes, capacity, n_ids, hit, next_access):
    n = ids.shape[0]
    hk = np.empty(n + 1, np.int64)      # heap keys (next access), max on top
    hv = np.empty(n + 1, np.int64)      # heap values (id)
    hn = 0
    incache = np.zeros(n_ids, np.bool_)
    cur = np.full(n_ids, -1, np.int64)
    csize = np.zeros(n_ids, np.int64)
    used = 0
    hits = 0
    for i in range(n):
        x = ids[i]
        nx = next_access[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
        else:
            s = sizes[i]
            if s > capacity:
                continue
            while used + s > capacity:
                v = hv[0]
                valid = incache[v] and cur[v] == hk[0]
                # pop the top (sift down the last entry)
                hn -= 1
                k = hk[hn]
                val = hv[hn]
                j = 0
                while True:
                    c = 2 * j + 1
                    if c >= hn:
                        break
                    if c + 1 < hn and hk[c + 1] > hk[c]:
                        c += 1
                    if hk[c] <= k:
                        break
                    hk[j] = hk[c]
                    hv[j] = hv[c]
                    j = c
                hk[j] = k
                hv[j] = val
                if valid:
                    incache[v] = False
                    used -= csize[v]
            incache[x] = True
            csize[x] = s
            used += s
        cur[x] = nx
        # push (nx, x), sift up
        j = hn
        hn += 1
        while j > 0:
            par = (j - 1) // 2
            if hk[par] >= nx:
                break
            hk[j] = hk[par]
            hv[j] = hv[par]
            j = par
        hk[j] = nx
        hv[j] = x
    return hits


belady_kernel = njit(cache=True)(belady_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    if next_access is None:
        next_access = _na(ids, n_ids)
    fn = belady_ref if ref else belady_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.ascontiguousarray(next_access, np.int64))


def discard_bits(ids, sizes, capacity, next_access) -> np.ndarray:
    """True where Belady (at ``capacity``) does not keep ``ids[i]`` until its next access."""
    ids = np.ascontiguousarray(ids, np.int64)
    n = len(ids)
    hit = np.zeros(n, np.uint8)
    n_ids = int(ids.max()) + 1 if n else 1
    belady_kernel(ids, np.ascontiguousarray(sizes, np.int64), np.int64(capacity),
                  np.int64(n_ids), hit, np.ascontiguousarray(next_access, np.int64))
    nx = np.asarray(next_access, np.int64)
    has_next = nx < n
    bits = np.ones(n, np.bool_)
    bits[has_next] = hit[nx[has_next]] == 0
    return bits
