"""CLOCK replay kernel (FIFO re-insertion with an n-bit counter) and its twin ``clock_ref``.

A singly linked queue with scalar head/tail (NOTE: scalars for speed); a key
that survives the hand is re-appended at the newest end with one count less.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["clock_ref", "clock_kernel", "run"]


def clock_ref(ids, sizes, capacity, n_ids, hit, max_freq, init_freq):
    newer = np.full(n_ids, -1, np.int64)
    incache = np.zeros(n_ids, np.bool_)
    freq = np.zeros(n_ids, np.int64)
    csize = np.zeros(n_ids, np.int64)
    head = -1
    tail = -1
    used = 0
    hits = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
            if freq[x] < max_freq:
                freq[x] += 1
            continue
        s = sizes[i]
        if s > capacity:
            continue
        while used + s > capacity:
            v = head
            if freq[v] > 0:
                freq[v] -= 1
                if tail != v:                   # move v from the oldest to the newest end
                    head = newer[v]
                    newer[v] = -1
                    newer[tail] = v
                    tail = v
            else:
                head = newer[v]
                if head < 0:
                    tail = -1
                incache[v] = False
                used -= csize[v]
        newer[x] = -1
        if tail >= 0:
            newer[tail] = x
        else:
            head = x
        tail = x
        incache[x] = True
        freq[x] = init_freq
        csize[x] = s
        used += s
    return hits


clock_kernel = njit(cache=True)(clock_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False):
    fn = clock_ref if ref else clock_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.int64(policy.max_freq), np.int64(policy.init_freq))
