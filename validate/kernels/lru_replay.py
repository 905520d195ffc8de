"""LRU trace replay: count hits of a least-recently-used cache over a key trace.

``lru_replay`` runs the engine's Numba fast path (``memsim.policies.fast.lru``) with
unit sizes; ``_local`` is a small independent kernel (recency as ``prev``/``next``
arrays indexed by key, a few dependent random loads per access) that cross-checks it.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from numba import njit

from memsim.policies.fast.lru import lru_kernel

__all__ = ["lru_replay", "lru_replay_ref", "lru_state_bytes", "SOURCE"]


def lru_replay_ref(keys: np.ndarray, capacity: int) -> int:
    """Hits of an LRU cache holding ``capacity`` keys, with an OrderedDict."""
    cache: OrderedDict = OrderedDict()
    hits = 0
    for key in keys.tolist():
        if key in cache:
            hits += 1
            cache.move_to_end(key)
        else:
            if len(cache) >= capacity:
                cache.popitem(last=False)
            cache[key] = True
    return hits


@njit(cache=True)
def _lru_replay(keys, capacity, universe):
    prev = np.full(universe, -1, np.int64)
    nxt = np.full(universe, -1, np.int64)
    present = np.zeros(universe, np.bool_)
    head = -1          # most recent
    tail = -1          # least recent
    size = 0
    hits = 0
    for i in range(keys.size):
        key = keys[i]
        if present[key]:
            hits += 1
            if key == head:
                continue
            p, q = prev[key], nxt[key]
            nxt[p] = q
            if q >= 0:
                prev[q] = p
            else:
                tail = p
        else:
            if size >= capacity:
                victim = tail
                tail = prev[victim]
                if tail >= 0:
                    nxt[tail] = -1
                else:
                    head = -1
                present[victim] = False
            else:
                size += 1
            present[key] = True
        prev[key] = -1
        nxt[key] = head
        if head >= 0:
            prev[head] = key
        head = key
        if tail < 0:
            tail = key
    return hits


def lru_state_bytes(universe: int) -> int:
    """Bytes of recency state the kernel above touches (prev, next, present)."""
    return universe * (8 + 8 + 1)


def _local(keys: np.ndarray, capacity: int) -> int:
    if capacity < 1:
        raise ValueError(f"capacity={capacity} must be >= 1")
    universe = int(keys.max()) + 1 if keys.size else 1
    return int(_lru_replay(keys.astype(np.int64, copy=False), capacity, universe))


def lru_replay(keys: np.ndarray, capacity: int) -> int:
    """Hits of an LRU cache of ``capacity`` keys over ``keys``, on the engine's replay kernel."""
    if capacity < 1:
        raise ValueError(f"capacity={capacity} must be >= 1")
    ids = keys.astype(np.int64, copy=False)
    n_ids = int(ids.max()) + 1 if ids.size else 1
    hit = np.zeros(ids.size, np.int8)
    return int(lru_kernel(ids, np.ones(ids.size, np.int64), np.int64(capacity), np.int64(n_ids), hit))


#: which kernel ``lru_replay`` runs (named in the validation report)
SOURCE = "memsim.policies.fast.lru"
