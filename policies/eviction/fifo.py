"""FIFO: give up the key that was inserted first, whatever its hits."""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_positive

from ..registry import register
from ._scan import first_allowed

__all__ = ["FIFO"]


@register("eviction")
class FIFO:
    """Evict the key inserted longest ago; hits change nothing.

    Models: First-In First-Out replacement, as the baseline of "FIFO queues are all you need for cache eviction" (Yang et al., SOSP 2023).
    Parameters:
        capacity: cache size in the caller's unit (blocks or bytes); informational.
    Differs from the paper: nothing; pinned keys are passed over in place.
    """

    name = "fifo"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self._order: OrderedDict = OrderedDict()

    def __repr__(self) -> str:
        return f"FIFO(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key) -> bool:
        return key in self._order

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._order, f"{key!r} inserted twice"
        self._order[key] = size

    def on_hit(self, key, now_s: float) -> None:
        assert key in self._order

    def victim(self, now_s: float, can_evict=None):
        return first_allowed(self._order, can_evict)

    def on_remove(self, key) -> None:
        del self._order[key]

    def check(self) -> None:
        assert all(s >= 0 for s in self._order.values())
