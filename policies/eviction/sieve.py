"""SIEVE: a FIFO queue with visited bits and a hand that sweeps from old to new.

Keys never move.  ``victim()`` walks the hand virtually (noting which visited
bits it would clear) and caches the plan; ``on_remove(victim)`` clears those
bits and leaves the hand just newer than the victim, as libCacheSim's Sieve.c.
"""
from __future__ import annotations

from memsim.ground.errors import check_positive

from ..registry import register

__all__ = ["Sieve"]


@register("eviction")
class Sieve:
    """Evict the first unvisited key at or after the hand, clearing visited bits on the way.

    Models: "SIEVE is Simpler than LRU: an Efficient Turn-Key Eviction Algorithm for Web Caches" (Zhang, Yang, Yue, Vigfusson, Rashmi; NSDI 2024).
    Parameters:
        capacity: cache size in the caller's unit; informational.
    Differs from the paper: nothing for unpinned keys; a pinned key is passed over
    by the hand with its visited bit left as it is.
    """

    name = "sieve"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self._newer: dict = {}      # key -> key toward the newest end (or None)
        self._older: dict = {}      # key -> key toward the oldest end (or None)
        self._visited: dict = {}
        self._newest = None
        self._oldest = None
        self._hand = None           # next key the hand examines (None = oldest)
        self._version = 0
        self._pending = None

    def __repr__(self) -> str:
        return f"Sieve(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._visited)

    def __contains__(self, key) -> bool:
        return key in self._visited

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._visited, f"{key!r} inserted twice"
        self._visited[key] = False
        self._older[key] = self._newest
        self._newer[key] = None
        if self._newest is not None:
            self._newer[self._newest] = key
        else:
            self._oldest = key
        self._newest = key
        self._version += 1

    def on_hit(self, key, now_s: float) -> None:
        if not self._visited[key]:
            self._visited[key] = True
            self._version += 1

    def victim(self, now_s: float, can_evict=None):
        n = len(self._visited)
        if n == 0:
            return None
        k = self._hand if self._hand is not None else self._oldest
        cleared: list = []
        seen: set = set()
        for _ in range(2 * n + 1):
            if can_evict is None or can_evict(k):
                if self._visited[k] and k not in seen:
                    cleared.append(k)
                    seen.add(k)
                else:
                    self._pending = (self._version, k, cleared)
                    return k
            k = self._newer[k] if self._newer[k] is not None else self._oldest
        return None

    def on_remove(self, key) -> None:
        p = self._pending
        self._pending = None
        if p is not None and p[0] == self._version and p[1] == key:
            for k in p[2]:
                self._visited[k] = False
            self._hand = self._newer[key]
        elif self._hand == key:
            self._hand = self._newer[key]
        older, newer = self._older.pop(key), self._newer.pop(key)
        del self._visited[key]
        if older is not None:
            self._newer[older] = newer
        else:
            self._oldest = newer
        if newer is not None:
            self._older[newer] = older
        else:
            self._newest = older
        self._version += 1

    def check(self) -> None:
        n, k, prev = 0, self._oldest, None
        while k is not None:
            assert self._older[k] == prev
            prev, k, n = k, self._newer[k], n + 1
        assert prev == self._newest and n == len(self._visited) == len(self._newer)
        assert self._hand is None or self._hand in self._visited
