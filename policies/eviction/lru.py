"""LRU: give up the key whose last access is the oldest.

The template every other policy file copies: docstring, keyword-only
constructor, hooks, ``victim``, ``check``; state lives on the instance.
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_positive

from ..registry import register
from ._scan import first_allowed

__all__ = ["LRU"]


@register("eviction")
class LRU:
    """Evict the least recently used key.

    Models: Least Recently Used, the stack algorithm of "Evaluation Techniques for Storage Hierarchies" (Mattson, Gecsei, Slutz, Traiger; IBM Systems Journal 1970).
    Parameters:
        capacity: cache size in the caller's unit (blocks or bytes); informational.
    Differs from the paper: nothing; a pinned key (``can_evict`` False) is passed
    over and keeps its place in the recency order.
    """

    name = "lru"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self._order: OrderedDict = OrderedDict()   # key -> size, oldest first

    def __repr__(self) -> str:
        return f"LRU(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key) -> bool:
        return key in self._order

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._order, f"{key!r} inserted twice"
        self._order[key] = size

    def on_hit(self, key, now_s: float) -> None:
        self._order.move_to_end(key)

    def victim(self, now_s: float, can_evict=None):
        return first_allowed(self._order, can_evict)

    def on_remove(self, key) -> None:
        del self._order[key]

    def check(self) -> None:
        assert all(s >= 0 for s in self._order.values())
