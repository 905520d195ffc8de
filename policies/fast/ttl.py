"""TTL replay kernel (a min-heap of (deadline, sequence) with stale entries skipped) and its twin.

Same order as ``memsim.policies.eviction.ttl.TTL``: each access sets the key's deadline
to ``max(old, now_s + ttl_s)`` with a fresh sequence number; the victim is the
smallest (deadline, sequence).  ``now_s`` is the trace time, or the access index.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ttl_ref", "ttl_kernel", "run"]


def ttl_ref(ids, sizes, capacity, n_ids, hit, times_s, ttl_s):
    n = ids.shape[0]
    hd = np.empty(n + 1, np.float64)    # heap: deadline, sequence, key (min on top)
    hq = np.empty(n + 1, np.int64)
    hv = np.empty(n + 1, np.int64)
    hn = 0
    incache = np.zeros(n_ids, np.bool_)
    dead = np.zeros(n_ids, np.float64)
    seq = np.full(n_ids, -1, np.int64)
    csize = np.zeros(n_ids, np.int64)
    used = 0
    hits = 0
    for i in range(n):
        x = ids[i]
        now = times_s[i]
        if incache[x]:
            hits += 1
            hit[i] = 1
            d = max(dead[x], now + ttl_s)
        else:
            s = sizes[i]
            if s > capacity:
                continue
            while used + s > capacity:
                v = hv[0]
                valid = incache[v] and seq[v] == hq[0]
                hn -= 1                       # pop the top: sift the last entry down
                kd = hd[hn]
                kq = hq[hn]
                kv = hv[hn]
                j = 0
                while True:
                    c = 2 * j + 1
                    if c >= hn:
                        break
                    if c + 1 < hn and (hd[c + 1] < hd[c] or
                                       (hd[c + 1] == hd[c] and hq[c + 1] < hq[c])):
                        c += 1
                    if hd[c] > kd or (hd[c] == kd and hq[c] > kq):
                        break
                    hd[j] = hd[c]
                    hq[j] = hq[c]
                    hv[j] = hv[c]
                    j = c
                hd[j] = kd
                hq[j] = kq
                hv[j] = kv
                if valid:
                    incache[v] = False
                    used -= csize[v]
            incache[x] = True
            csize[x] = s
            used += s
            d = now + ttl_s
        dead[x] = d
        seq[x] = i
        j = hn                                # push (d, i, x): sift up
        hn += 1
        while j > 0:
            par = (j - 1) // 2
            if hd[par] < d or (hd[par] == d and hq[par] < i):
                break
            hd[j] = hd[par]
            hq[j] = hq[par]
            hv[j] = hv[par]
            j = par
        hd[j] = d
        hq[j] = i
        hv[j] = x
    return hits


ttl_kernel = njit(cache=True)(ttl_ref)


def run(policy, ids, sizes, n_ids, hit, next_access=None, ref=False, times_s=None):
    if times_s is None:
        times_s = np.arange(len(ids), dtype=np.float64)
    fn = ttl_ref if ref else ttl_kernel
    return fn(ids, sizes, np.int64(policy.capacity), np.int64(n_ids), hit,
              np.ascontiguousarray(times_s, np.float64), float(policy.ttl_s))
