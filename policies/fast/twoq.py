"""2Q replay kernel (lists A1in=0, Am=1, A1out=2) and its twin ``twoq_ref``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["twoq_ref", "twoq_kernel", "run"]


def twoq_ref(ids, sizes, capacity, n_ids, hit, k_in, k_out):
    link = np.full(2 * n_ids, -1, np.int64)
    head = np.full(3, -1, np.int64)
    tail = np.full(3, -1, np.int64)
    where = np.full(n_ids, -1, np.int64)
    csize = np.zeros(n_ids, np.int64)
    in_used = 0
    am_used = 0
    out_used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w == 0 or w == 1:
            hits += 1
            hit[i] = 1
            if w == 1:
                unlink(link, head, tail, 1, x)
                push(link, head, tail, 1, x)
            continue
        reclaim = w == 2
        if reclaim:
            unlink(link, head, tail, 2, x)
            out_used -= csize[x]
            where[x] = -1
        s = sizes[i]
        if s > capacity:
            continue
        while in_used + am_used + s > capacity:
            if in_used > k_in or head[1] < 0:
                v = head[0]
                unlink(link, head, tail, 0, v)
                in_used -= csize[v]
                where[v] = -1
                if k_out > 0:
                    push(link, head, tail, 2, v)
                    out_used += csize[v]
                    where[v] = 2
                    while out_used > k_out:
                        g = head[2]
                        unlink(link, head, tail, 2, g)
                        out_used -= csize[g]
                        where[g] = -1
            else:
                v = head[1]
                unlink(link, head, tail, 1, v)
                am_used -= csize[v]
                where[v] = -1
        csize[x] = s
        if reclaim:
            push(link, head, tail, 1, x)
            am_used += s
            where[x] = 1
        else:
            push(link, head, tail, 0, x)
            in_used += s
            where[x] = 0
    return hits


twoq_kernel = njit(cache=True)(twoq_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = twoq_ref if ref else twoq_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.k_in), np.int64(policy.k_out))
