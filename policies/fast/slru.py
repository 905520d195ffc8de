"""SLRU replay kernel (probation=0, protected=1) and its twin ``slru_ref``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["slru_ref", "slru_kernel", "run"]


def slru_ref(ids, sizes, capacity, n_ids, hit, protected_capacity):
    link = np.full(2 * n_ids, -1, np.int64)
    head = np.full(2, -1, np.int64)
    tail = np.full(2, -1, np.int64)
    where = np.full(n_ids, -1, np.int64)
    csize = np.zeros(n_ids, np.int64)
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
            unlink(link, head, tail, w, x)
            push(link, head, tail, 1, x)
            if w == 0:
                where[x] = 1
                prot_used += csize[x]
                n_prot += 1
                while prot_used > protected_capacity and n_prot > 1:
                    v = head[1]
                    unlink(link, head, tail, 1, v)
                    prot_used -= csize[v]
                    n_prot -= 1
                    push(link, head, tail, 0, v)
                    where[v] = 0
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            if head[0] >= 0:
                v = head[0]
                unlink(link, head, tail, 0, v)
            else:
                v = head[1]
                unlink(link, head, tail, 1, v)
                prot_used -= csize[v]
                n_prot -= 1
            where[v] = -1
            used -= csize[v]
        push(link, head, tail, 0, x)
        where[x] = 0
        csize[x] = s
        used += s
    return hits


slru_kernel = njit(cache=True)(slru_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = slru_ref if ref else slru_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.protected_capacity))
