"""ARC replay kernel (lists T1, T2, B1, B2) and its twin ``arc_ref``.

Same rules and order as ``memsim.policies.eviction.arc.ARC`` driven by the replay:
adapt ``p`` on a ghost hit, REPLACE while full, insert, then trim the ghosts.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import pop_oldest, push, unlink

__all__ = ["arc_ref", "arc_kernel", "run"]


def arc_ref(ids, sizes, capacity, n_ids, hit):
    link = np.full(2 * n_ids, -1, np.int64)
    where = np.full(n_ids, -1, np.int8)         # 0 T1, 1 T2, 2 B1, 3 B2
    csize = np.zeros(n_ids, np.int64)
    h0, t0, h1, t1, h2, t2, h3, t3 = -1, -1, -1, -1, -1, -1, -1, -1
    u0, u1, u2, u3 = 0, 0, 0, 0                 # summed sizes of T1, T2, B1, B2
    c = float(capacity)
    p = 0.0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w == 0 or w == 1:
            hits += 1
            hit[i] = 1
            if w == 0:
                h0, t0 = unlink(link, x, h0, t0)
                u0 -= csize[x]
                u1 += csize[x]
                where[x] = 1
            elif t1 == x:
                continue
            else:
                h1, t1 = unlink(link, x, h1, t1)
            h1, t1 = push(link, x, h1, t1)
            continue
        s = sizes[i]
        if w == 2:
            p = min(c, p + max(u3 / u2, 1.0) * s)
        elif w == 3:
            p = max(0.0, p - max(u2 / u3, 1.0) * s)
        if s > capacity:
            continue
        while u0 + u1 + s > capacity:
            if u0 > 0 and (u0 > p or (w == 3 and u0 == p) or h1 < 0):
                drop = u0 >= capacity and not (w == 2 or w == 3)
                v, h0, t0 = pop_oldest(link, h0, t0)
                u0 -= csize[v]
                if drop:
                    where[v] = -1
                else:
                    h2, t2 = push(link, v, h2, t2)
                    u2 += csize[v]
                    where[v] = 2
            else:
                v, h1, t1 = pop_oldest(link, h1, t1)
                u1 -= csize[v]
                h3, t3 = push(link, v, h3, t3)
                u3 += csize[v]
                where[v] = 3
        if w == 2 or w == 3:
            if w == 2:
                h2, t2 = unlink(link, x, h2, t2)
                u2 -= csize[x]
            else:
                h3, t3 = unlink(link, x, h3, t3)
                u3 -= csize[x]
            h1, t1 = push(link, x, h1, t1)
            u1 += s
            where[x] = 1
            csize[x] = s
            continue
        h0, t0 = push(link, x, h0, t0)
        u0 += s
        where[x] = 0
        csize[x] = s
        while u0 + u2 > capacity and h2 >= 0:
            v, h2, t2 = pop_oldest(link, h2, t2)
            u2 -= csize[v]
            where[v] = -1
        while u0 + u1 + u2 + u3 > 2 * capacity and h3 >= 0:
            v, h3, t3 = pop_oldest(link, h3, t3)
            u3 -= csize[v]
            where[v] = -1
    return hits


arc_kernel = njit(cache=True)(arc_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = arc_ref if ref else arc_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
