"""The eviction interface every KV tier and the trace replay call.

A policy only orders keys: the caller (``memsim.policies.pool.BlockPool``, which the
engine's HBM and lower tiers and ``memsim.policies.replay`` share) owns the storage,
the byte/block accounting and the decision to evict.  This module
holds the Protocol and its written contract; built-ins live one per file beside it.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Optional, Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["Eviction", "OfflineEviction", "CanEvict"]

#: ``can_evict(key) -> bool``; False means "pinned: pass it over, leave it as it is".
CanEvict = Optional[Callable[[Hashable], bool]]


@runtime_checkable
class Eviction(Protocol):
    """Which stored key to give up next.

    Contract (call order for one access of ``key`` with ``size``):

    * hit:  ``key in policy`` is True  -> ``on_hit(key, now_s)``.
    * miss: ``on_miss(key, size, now_s)`` (optional hook, see below), then while the
      caller needs room: ``k = victim(now_s, can_evict)``; the caller removes ``k``
      and calls ``on_remove(k)``; finally ``on_insert(key, size, now_s)`` if the
      key was admitted.
    * ``victim`` CHANGES NOTHING (it may cache what it computed).  It returns the
      key the policy would evict next, or ``None`` if no stored key can be evicted
      (empty, or every key refused by ``can_evict``).  Keys for which ``can_evict``
      is False are passed over and left exactly as they are.
    * ``on_remove(key)`` may follow a ``victim`` (then the policy applies the side
      effects of its eviction scan: ghost entries, CLOCK bits, hands) or come on
      its own (the engine dropped the key for another reason: plain removal).
    * ``check()`` asserts the policy's own counts and invariants.

    Units: ``size`` is in the caller's unit (blocks or bytes), the same unit as
    ``capacity``; ``now_s`` is seconds (replay without timestamps passes the
    access index).  ``on_miss(key, size, now_s)`` is optional: policies with ghost
    lists (ARC, 2Q, S3-FIFO) use it to learn about the incoming key before the
    evictions it causes, as libCacheSim's ``find`` does; without it they decide
    as if the incoming key were not a ghost until ``on_insert``.
    """

    name: str

    def __init__(self, *, capacity: int, **params: Any) -> None: ...

    def on_insert(self, key: Hashable, size: int, now_s: float) -> None: ...

    def on_hit(self, key: Hashable, now_s: float) -> None: ...

    def victim(self, now_s: float, can_evict: CanEvict = None) -> Optional[Hashable]: ...

    def on_remove(self, key: Hashable) -> None: ...

    def check(self) -> None: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...


@runtime_checkable
class OfflineEviction(Eviction, Protocol):
    """An eviction policy that needs the future (Belady, learned advice).

    ``prepare(keys, sizes, next_access)`` is called once with the whole access
    sequence (``next_access[i]`` is the index of the next access of ``keys[i]``,
    or ``len(keys) + i`` if there is none), then ``seek(i)`` before access ``i``.
    """

    def prepare(self, keys, sizes, next_access) -> None: ...

    def seek(self, i: int) -> None: ...


declare_kind("eviction", Eviction)
