"""S3-FIFO replay kernel (small, main, ghost FIFOs) and its twin ``s3fifo_ref``.

Same rules and order as ``memsim.policies.eviction.s3fifo.S3FIFO`` (libCacheSim's
S3FIFO.c): ghost check at the miss, then evictions, then the insert.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import pop_oldest, push, unlink

__all__ = ["s3fifo_ref", "s3fifo_kernel", "run"]


def s3fifo_ref(ids, sizes, capacity, n_ids, hit, small_cap, ghost_cap, threshold):
    link = np.full(2 * n_ids, -1, np.int64)
    where = np.full(n_ids, -1, np.int8)         # 0 small, 1 main, 2 ghost
    freq = np.zeros(n_ids, np.int64)
    csize = np.zeros(n_ids, np.int64)
    sh, st, mh, mt, gh, gt = -1, -1, -1, -1, -1, -1
    main_cap = capacity - small_cap
    small_used = 0
    main_used = 0
    ghost_used = 0
    has_evicted = False
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        w = where[x]
        if w == 0 or w == 1:
            hits += 1
            hit[i] = 1
            freq[x] += 1
            continue
        ghost_hit = w == 2
        if ghost_hit:
            gh, gt = unlink(link, x, gh, gt)
            ghost_used -= csize[x]
            where[x] = -1
        s = sizes[i]
        if s > capacity:
            continue
        while small_used + main_used + s > capacity:
            has_evicted = True
            evicted = False
            if not (main_used > main_cap or small_used == 0):
                while sh >= 0:
                    v, sh, st = pop_oldest(link, sh, st)
                    small_used -= csize[v]
                    if freq[v] >= threshold:
                        mh, mt = push(link, v, mh, mt)
                        main_used += csize[v]
                        where[v] = 1
                        freq[v] = 0
                    else:
                        where[v] = -1
                        if ghost_cap > 0:
                            gh, gt = push(link, v, gh, gt)
                            ghost_used += csize[v]
                            where[v] = 2
                            while ghost_used > ghost_cap:
                                g, gh, gt = pop_oldest(link, gh, gt)
                                ghost_used -= csize[g]
                                where[g] = -1
                        evicted = True
                        break
            while not evicted:
                v, mh, mt = pop_oldest(link, mh, mt)
                if freq[v] >= 1:
                    freq[v] = min(freq[v], 3) - 1
                    mh, mt = push(link, v, mh, mt)
                else:
                    main_used -= csize[v]
                    where[v] = -1
                    evicted = True
        csize[x] = s
        freq[x] = 0
        if ghost_hit or s >= small_cap or (not has_evicted and small_used >= small_cap):
            mh, mt = push(link, x, mh, mt)
            main_used += s
            where[x] = 1
        else:
            sh, st = push(link, x, sh, st)
            small_used += s
            where[x] = 0
    return hits


s3fifo_kernel = njit(cache=True)(s3fifo_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = s3fifo_ref if ref else s3fifo_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.small_capacity), np.int64(policy.ghost_capacity),
              np.int64(policy.move_to_main_threshold))
