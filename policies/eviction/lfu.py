"""LFU: give up the key with the fewest accesses; ties go to the longest-waiting.

Keys sit in frequency buckets, each ordered by arrival into the bucket, so the
victim is the oldest key of the lowest non-empty bucket (amortised O(1)).
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_positive

from ..registry import register

__all__ = ["LFU"]


@register("eviction")
class LFU:
    """Evict the least frequently used key (count since insertion), oldest in its count first.

    Models: Least Frequently Used replacement, e.g. "An O(1) algorithm for implementing the LFU cache eviction scheme" (Shah, Mitra, Matani; 2010).
    Parameters:
        capacity: cache size in the caller's unit; informational.
    Differs from the paper: counts restart at 1 when a key is re-inserted (no
    history of evicted keys, as libCacheSim's LFU); ties go to the key that reached
    its count first.  Hit counts equal libCacheSim's LFU on the tested Zipf and
    Mooncake sequences (the test allows 0.5 points, as tie-breaking is not specified
    by the paper).
    """

    name = "lfu"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self._freq: dict = {}
        self._buckets: dict = {}    # count -> OrderedDict of keys, oldest first
        self._min = 0

    def __repr__(self) -> str:
        return f"LFU(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._freq)

    def __contains__(self, key) -> bool:
        return key in self._freq

    def _add(self, key, f: int) -> None:
        b = self._buckets.get(f)
        if b is None:
            b = self._buckets[f] = OrderedDict()
        b[key] = None
        self._freq[key] = f

    def _drop(self, key) -> int:
        f = self._freq.pop(key)
        b = self._buckets[f]
        del b[key]
        if not b:
            del self._buckets[f]
            if self._min == f:
                self._min = min(self._buckets) if self._buckets else 0
        return f

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._freq, f"{key!r} inserted twice"
        self._add(key, 1)
        self._min = 1

    def on_hit(self, key, now_s: float) -> None:
        f = self._drop(key)
        self._add(key, f + 1)
        if self._min == 0 or self._min > f + 1:
            self._min = f + 1

    def victim(self, now_s: float, can_evict=None):
        if not self._freq:
            return None
        if can_evict is None:
            return next(iter(self._buckets[self._min]))
        for f in sorted(self._buckets):
            for k in self._buckets[f]:
                if can_evict(k):
                    return k
        return None

    def on_remove(self, key) -> None:
        self._drop(key)

    def check(self) -> None:
        assert sum(len(b) for b in self._buckets.values()) == len(self._freq)
        assert all(b for b in self._buckets.values())
        assert not self._freq or self._min == min(self._buckets)
