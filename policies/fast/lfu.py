"""LFU replay kernel (frequency buckets as linked lists) and its twin ``lfu_ref``.

Bucket f is list f; the victim is the oldest key of the lowest non-empty bucket.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._dlist import push, unlink

__all__ = ["lfu_ref", "lfu_kernel", "run"]


def lfu_ref(ids, sizes, capacity, n_ids, hit, max_count):
    link = np.full(2 * n_ids, -1, np.int64)
    head = np.full(max_count + 2, -1, np.int64)
    tail = np.full(max_count + 2, -1, np.int64)
    freq = np.zeros(n_ids, np.int64)          # 0 = not cached
    csize = np.zeros(n_ids, np.int64)
    min_f = 1
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        f = freq[x]
        if f > 0:
            hits += 1
            hit[i] = 1
            head[f], tail[f] = unlink(link, x, head[f], tail[f])
            head[f + 1], tail[f + 1] = push(link, x, head[f + 1], tail[f + 1])
            freq[x] = f + 1
            if min_f == f and head[f] < 0:
                min_f = f + 1
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            while head[min_f] < 0:      # lowest non-empty bucket (lazy)
                min_f += 1
            v = head[min_f]
            head[min_f], tail[min_f] = unlink(link, v, head[min_f], tail[min_f])
            freq[v] = 0
            used -= csize[v]
        head[1], tail[1] = push(link, x, head[1], tail[1])
        freq[x] = 1
        min_f = 1
        csize[x] = s
        used += s
    return hits


lfu_kernel = njit(cache=True)(lfu_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    max_count = int(np.bincount(ids, minlength=1).max()) if len(ids) else 1
    fn = lfu_ref if ref else lfu_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit, np.int64(max_count))
