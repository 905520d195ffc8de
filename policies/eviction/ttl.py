"""TTL: keys are pinned until a deadline; expired keys go first, then the nearest deadline.

Every access extends a key's deadline to ``now_s + ttl_s``; ``pin(key, until_s)``
sets it explicitly (e.g. a predicted tool-call return).  With one ``ttl_s`` for
all keys the order is exactly LRU.
"""
from __future__ import annotations

import heapq
import itertools

from memsim.ground.errors import check_nonnegative, check_positive

from ..registry import register

__all__ = ["TTL"]


@register("eviction")
class TTL:
    """Evict the key whose pin expires first (expired keys before any still-pinned key).

    Models: time-to-live pinning of a program's KV cache across tool calls in "Continuum: Efficient and Robust Multi-Turn LLM Agent Scheduling with KV Cache Time-to-Live" (2025).
    Parameters:
        capacity: cache size in the caller's unit; informational.
        ttl_s: seconds a key stays pinned after each access (default 0: plain LRU
            order until ``pin`` is used).
    Differs from the paper: Continuum derives the TTL from predicted tool-call
    duration and offloads on expiry; here the caller supplies TTLs via ``ttl_s``
    or ``pin`` and, when every key is still pinned, the nearest deadline is
    evicted rather than refusing (use ``can_evict`` to refuse).
    """

    name = "ttl"

    def __init__(self, *, capacity: int, ttl_s: float = 0.0):
        self.capacity = check_positive("capacity", capacity)
        self.ttl_s = check_nonnegative("ttl_s", ttl_s)
        self._deadline: dict = {}       # key -> (deadline_s, seq)
        self._heap: list = []           # (deadline_s, seq, key); stale entries skipped
        self._seq = itertools.count()

    def __repr__(self) -> str:
        return f"TTL(capacity={self.capacity}, ttl_s={self.ttl_s})"

    def __len__(self) -> int:
        return len(self._deadline)

    def __contains__(self, key) -> bool:
        return key in self._deadline

    def _set(self, key, deadline_s: float) -> None:
        entry = (deadline_s, next(self._seq))
        self._deadline[key] = entry
        heapq.heappush(self._heap, (*entry, key))

    def pin(self, key, until_s: float) -> None:
        """Pin a stored key until ``until_s`` (seconds, the caller's clock)."""
        if key not in self._deadline:
            raise KeyError(key)
        self._set(key, float(until_s))

    def deadline_s(self, key) -> float:
        return self._deadline[key][0]

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._deadline, f"{key!r} inserted twice"
        self._set(key, now_s + self.ttl_s)

    def on_hit(self, key, now_s: float) -> None:
        self._set(key, max(self._deadline[key][0], now_s + self.ttl_s))

    def _valid(self, item) -> bool:
        return self._deadline.get(item[2]) == item[:2]

    def victim(self, now_s: float, can_evict=None):
        heap = self._heap
        while heap and not self._valid(heap[0]):   # drop stale entries (not observable)
            heapq.heappop(heap)
        if not heap:
            return None
        if can_evict is None or can_evict(heap[0][2]):
            return heap[0][2]
        for item in heapq.nsmallest(len(heap), heap):
            if self._valid(item) and can_evict(item[2]):
                return item[2]
        return None

    def on_remove(self, key) -> None:
        del self._deadline[key]
        if len(self._heap) > 4 * len(self._deadline) + 64:
            self._heap = [e for e in self._heap if self._valid(e)]
            heapq.heapify(self._heap)

    def check(self) -> None:
        live = [e for e in self._heap if self._valid(e)]
        assert len(live) == len(self._deadline)
