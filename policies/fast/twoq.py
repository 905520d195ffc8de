"""2Q replay kernel (A1in FIFO, Am LRU, A1out ghost FIFO) and its twin ``twoq_ref``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import pop_oldest, push, unlink

__all__ = ["twoq_ref", "twoq_kernel", "run"]


def twoq_ref(ids, sizes, capacity, n_ids, hit, k_in, k_out):
    link = np.full(2 * n_ids, -1, np.int64)
    where = np.full(n_ids, -1, np.int8)         # 0 A1in, 1 Am, 2 A1out
    csize = np.zeros(n_ids, np.int64)
    ih, it, mh, mt, oh, ot = -1, -1, -1, -1, -1, -1
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
            if w == 1 and mt != x:
                mh, mt = unlink(link, x, mh, mt)
                mh, mt = push(link, x, mh, mt)
            continue
        reclaim = w == 2
        if reclaim:
            oh, ot = unlink(link, x, oh, ot)
            out_used -= csize[x]
            where[x] = -1
        s = sizes[i]
        if s > capacity:
            continue
        while in_used + am_used + s > capacity:
            if in_used > k_in or mh < 0:
                v, ih, it = pop_oldest(link, ih, it)
                in_used -= csize[v]
                where[v] = -1
                if k_out > 0:
                    oh, ot = push(link, v, oh, ot)
                    out_used += csize[v]
                    where[v] = 2
                    while out_used > k_out:
                        g, oh, ot = pop_oldest(link, oh, ot)
                        out_used -= csize[g]
                        where[g] = -1
            else:
                v, mh, mt = pop_oldest(link, mh, mt)
                am_used -= csize[v]
                where[v] = -1
        csize[x] = s
        if reclaim:
            mh, mt = push(link, x, mh, mt)
            am_used += s
            where[x] = 1
        else:
            ih, it = push(link, x, ih, it)
            in_used += s
            where[x] = 0
    return hits


twoq_kernel = njit(cache=True)(twoq_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = twoq_ref if ref else twoq_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.k_in), np.int64(policy.k_out))
