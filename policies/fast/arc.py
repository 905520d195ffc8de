"""ARC replay kernel (lists T1=0, T2=1, B1=2, B2=3) and its twin ``arc_ref``.

Same rules and order as ``policies.eviction.arc.ARC`` driven by the replay:
adapt ``p`` on a ghost hit, REPLACE while full, insert, then trim the ghosts.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["arc_ref", "arc_kernel", "run"]


def arc_ref(ids, sizes, capacity, n_ids, hit):
    link = np.full(2 * n_ids, -1, np.int64)
    head = np.full(4, -1, np.int64)
    tail = np.full(4, -1, np.int64)
    where = np.full(n_ids, -1, np.int64)
    csize = np.zeros(n_ids, np.int64)
    u = np.zeros(4, np.int64)
    c = float(capacity)
    p = 0.0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w == 0 or w == 1:
            hits += 1
            hit[i] = 1
            unlink(link, head, tail, w, x)
            u[w] -= csize[x]
            push(link, head, tail, 1, x)
            u[1] += csize[x]
            where[x] = 1
            continue
        s = sizes[i]
        if w == 2:
            p = min(c, p + max(u[3] / u[2], 1.0) * s)
        elif w == 3:
            p = max(0.0, p - max(u[2] / u[3], 1.0) * s)
        if s > capacity:
            continue
        while u[0] + u[1] + s > capacity:
            t1 = u[0]
            from_t1 = t1 > 0 and (t1 > p or (w == 3 and t1 == p) or head[1] < 0)
            if from_t1:
                v = head[0]
                drop = u[0] >= capacity and not (w == 2 or w == 3)
                unlink(link, head, tail, 0, v)
                u[0] -= csize[v]
                if drop:
                    where[v] = -1
                else:
                    push(link, head, tail, 2, v)
                    u[2] += csize[v]
                    where[v] = 2
            else:
                v = head[1]
                unlink(link, head, tail, 1, v)
                u[1] -= csize[v]
                push(link, head, tail, 3, v)
                u[3] += csize[v]
                where[v] = 3
        if w == 2 or w == 3:
            unlink(link, head, tail, w, x)
            u[w] -= csize[x]
            push(link, head, tail, 1, x)
            u[1] += s
            where[x] = 1
            csize[x] = s
            continue
        push(link, head, tail, 0, x)
        u[0] += s
        where[x] = 0
        csize[x] = s
        while u[0] + u[2] > capacity and head[2] >= 0:
            v = head[2]
            unlink(link, head, tail, 2, v)
            u[2] -= csize[v]
            where[v] = -1
        while u[0] + u[1] + u[2] + u[3] > 2 * capacity and head[3] >= 0:
            v = head[3]
            unlink(link, head, tail, 3, v)
            u[3] -= csize[v]
            where[v] = -1
    return hits


arc_kernel = njit(cache=True)(arc_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = arc_ref if ref else arc_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit)
