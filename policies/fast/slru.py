"""SLRU replay kernel (probation and protected lists) and its twin ``slru_ref``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import pop_oldest, push, unlink

__all__ = ["slru_ref", "slru_kernel", "run"]


def slru_ref(ids, sizes, capacity, n_ids, hit, protected_capacity):
    link = np.full(2 * n_ids, -1, np.int64)
    where = np.full(n_ids, -1, np.int8)         # 0 probation, 1 protected
    csize = np.zeros(n_ids, np.int64)
    ph, pt, qh, qt = -1, -1, -1, -1             # probation / protected ends
    used = 0
    prot_used = 0
    n_prot = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w >= 0:
            hits += 1
            hit[i] = 1
            if w == 1:
                qh, qt = unlink(link, x, qh, qt)
                qh, qt = push(link, x, qh, qt)
                continue
            ph, pt = unlink(link, x, ph, pt)
            qh, qt = push(link, x, qh, qt)
            where[x] = 1
            prot_used += csize[x]
            n_prot += 1
            while prot_used > protected_capacity and n_prot > 1:
                v, qh, qt = pop_oldest(link, qh, qt)
                prot_used -= csize[v]
                n_prot -= 1
                ph, pt = push(link, v, ph, pt)
                where[v] = 0
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            if ph >= 0:
                v, ph, pt = pop_oldest(link, ph, pt)
            else:
                v, qh, qt = pop_oldest(link, qh, qt)
                prot_used -= csize[v]
                n_prot -= 1
            where[v] = -1
            used -= csize[v]
        ph, pt = push(link, x, ph, pt)
        where[x] = 0
        csize[x] = s
        used += s
    return hits


slru_kernel = njit(cache=True)(slru_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = slru_ref if ref else slru_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.protected_capacity))
