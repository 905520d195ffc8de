"""Belady/OPT: give up the key whose next access lies farthest in the future.

Offline: the replay computes every access's next-access index with a backwards
pass and hands it over with ``prepare``/``seek``; a key never accessed again
counts as ``len(trace) + i`` (i = its last access), so the order is total.
"""
from __future__ import annotations

import heapq

from memsim.ground.errors import ConfigError, check_positive

from ..registry import register

__all__ = ["Belady"]


@register("eviction", aliases=("opt",))
class Belady:
    """Evict the key re-used farthest in the future (optimal for unit sizes).

    Models: "A study of replacement algorithms for a virtual-storage computer" (Belady; IBM Systems Journal 1966), the MIN/OPT algorithm.
    Parameters:
        capacity: cache size in the caller's unit; informational.
    Differs from the paper: with sizes other than 1 this is still "farthest next
    use", which is no longer optimal (libCacheSim's Belady behaves the same).
    Needs the future: call ``prepare(keys, sizes, next_access)`` and ``seek(i)``
    (``memsim.policies.replay`` does).
    """

    name = "belady"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self._next_access = None
        self._now_next = None
        self._next: dict = {}       # key -> index of its next access
        self._heap: list = []       # (-next, key), stale entries skipped

    def __repr__(self) -> str:
        return f"Belady(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._next)

    def __contains__(self, key) -> bool:
        return key in self._next

    def prepare(self, keys, sizes, next_access) -> None:
        self._next_access = next_access

    def seek(self, i: int) -> None:
        self._now_next = int(self._next_access[i])

    def _touch(self, key) -> None:
        if self._now_next is None:
            raise ConfigError("belady needs the future: replay it with policies.replay "
                              "(or call prepare()/seek()) so next accesses are known")
        self._next[key] = self._now_next
        heapq.heappush(self._heap, (-self._now_next, key))

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._next, f"{key!r} inserted twice"
        self._touch(key)

    def on_hit(self, key, now_s: float) -> None:
        self._touch(key)

    def _valid(self, item) -> bool:
        return self._next.get(item[1]) == -item[0]

    def victim(self, now_s: float, can_evict=None):
        heap = self._heap
        while heap and not self._valid(heap[0]):   # drop stale entries (not observable)
            heapq.heappop(heap)
        if not heap:
            return None
        if can_evict is None or can_evict(heap[0][1]):
            return heap[0][1]
        for item in heapq.nsmallest(len(heap), heap):
            if self._valid(item) and can_evict(item[1]):
                return item[1]
        return None

    def on_remove(self, key) -> None:
        del self._next[key]
        if len(self._heap) > 4 * len(self._next) + 64:
            self._heap = [e for e in self._heap if self._valid(e)]
            heapq.heapify(self._heap)

    def check(self) -> None:
        assert sum(1 for e in self._heap if self._valid(e)) == len(self._next)
