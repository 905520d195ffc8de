"""SLRU: a probationary LRU segment for new keys and a protected one for re-used keys."""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_fraction, check_positive

from ..registry import register
from ._scan import first_allowed

__all__ = ["SLRU"]


@register("eviction")
class SLRU:
    """Evict the LRU key of the probationary segment; a hit promotes a key to the protected one.

    Models: Segmented LRU, "Caching Strategies to Improve Disk System Performance" (Karedla, Love, Wherry; IEEE Computer 1994).
    Parameters:
        capacity: cache size in the caller's unit.
        protected_fraction: protected segment's share of the capacity (default 0.8);
            keys pushed out of it are demoted to the probationary segment's MRU end.
    Differs from the paper: two segments (the common form); libCacheSim's SLRU
    defaults to four equal segments, so it is not cross-checked.
    """

    name = "slru"

    def __init__(self, *, capacity: int, protected_fraction: float = 0.8):
        self.capacity = check_positive("capacity", capacity)
        self.protected_fraction = check_fraction("protected_fraction", protected_fraction)
        self.protected_capacity = int(capacity * protected_fraction)
        self._probation: OrderedDict = OrderedDict()
        self._protected: OrderedDict = OrderedDict()
        self._protected_used = 0

    def __repr__(self) -> str:
        return f"SLRU(capacity={self.capacity}, protected_fraction={self.protected_fraction})"

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    def __contains__(self, key) -> bool:
        return key in self._probation or key in self._protected

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self, f"{key!r} inserted twice"
        self._probation[key] = size

    def on_hit(self, key, now_s: float) -> None:
        if key in self._protected:
            self._protected.move_to_end(key)
            return
        size = self._probation.pop(key)
        self._protected[key] = size
        self._protected_used += size
        while self._protected_used > self.protected_capacity and len(self._protected) > 1:
            k, s = self._protected.popitem(last=False)
            self._protected_used -= s
            self._probation[k] = s

    def victim(self, now_s: float, can_evict=None):
        k = first_allowed(self._probation, can_evict)
        return k if k is not None else first_allowed(self._protected, can_evict)

    def on_remove(self, key) -> None:
        if key in self._probation:
            del self._probation[key]
        else:
            self._protected_used -= self._protected.pop(key)

    def check(self) -> None:
        assert self._protected_used == sum(self._protected.values())
        assert not (set(self._probation) & set(self._protected))
