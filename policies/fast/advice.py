"""Advice replay kernel (two LRU lists: predicted safe, predicted unsafe) and its twin.

The per-access bits come from ``Advice.prepare`` (Belady's discard bits with
seeded errors); a hit or insert files the key under its latest bit.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import pop_oldest, push, unlink
from .next_access import next_access as _na

__all__ = ["advice_ref", "advice_kernel", "run"]


def advice_ref(ids, sizes, capacity, n_ids, hit, bits):
    link = np.full(2 * n_ids, -1, np.int64)
    where = np.full(n_ids, -1, np.int8)         # 0 unsafe, 1 safe
    csize = np.zeros(n_ids, np.int64)
    uh, ut, sh, st = -1, -1, -1, -1
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w >= 0:
            hits += 1
            hit[i] = 1
            if w == 1:
                sh, st = unlink(link, x, sh, st)
            else:
                uh, ut = unlink(link, x, uh, ut)
        else:
            s = sizes[i]
            if s > capacity:
                continue
            while used + s > capacity:
                if sh >= 0:
                    v, sh, st = pop_oldest(link, sh, st)
                else:
                    v, uh, ut = pop_oldest(link, uh, ut)
                where[v] = -1
                used -= csize[v]
            csize[x] = s
            used += s
        if bits[i]:
            sh, st = push(link, x, sh, st)
            where[x] = 1
        else:
            uh, ut = push(link, x, uh, ut)
            where[x] = 0
    return hits


advice_kernel = njit(cache=True)(advice_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    if next_access is None:
        next_access = _na(ids, n_ids)
    policy.prepare(ids, sizes, next_access)
    fn = advice_ref if ref else advice_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.ascontiguousarray(policy._bits, np.bool_))
