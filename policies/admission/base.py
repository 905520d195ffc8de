"""The admission interface: whether a missed object is stored at all.

Called by the replay (and the engine's tiers) on a miss, before any eviction;
a refused object is simply not stored (the access stays a miss).
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["Admission"]


@runtime_checkable
class Admission(Protocol):
    """Decide whether to store a missed object.

    ``admit(key, size, now_s)`` is called once per miss, after the eviction
    policy's ``on_miss`` and before any eviction; it may update the filter's own
    state (e.g. remember the key) and returns True to store the object.  ``size``
    is in the cache's unit, ``now_s`` in seconds (or the access index in replay).
    """

    name: str

    def admit(self, key: Hashable, size: int, now_s: float) -> bool: ...


declare_kind("admission", Admission)
