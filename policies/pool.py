"""One block pool: stored entries, an eviction policy's order, and the loop that evicts for room.

The HBM KV manager (sizes in KV blocks), every lower KV tier (sizes in chunks)
and the Python trace replay (sizes in the trace's unit) store their entries here,
so "ask the policy for a victim, remove it, repeat until the new entry fits" is
written once and the four ways of running a policy (engine HBM, engine tier,
Python replay, Numba kernel) can be checked against each other.

Pinning: an entry with ``refs > 0`` is in use and cannot go.  When the policy
names one it is *parked*: taken out of the policy (``on_remove``) and given back
as a fresh insert when its last user releases it, so a pinned entry is never
scanned twice whatever the policy.  An entry protected until ``until`` (a TTL)
is parked the same way and is evicted, soonest expiry first, only when the
policy has nothing else to offer.

Counters, the same meaning in every owner (entries unless named otherwise):

* ``hits`` / ``misses``: lookups the owner counted as found / not found (the
  replay counts every access; the KV manager every prompt block at a request's
  first admission, blocks after the first miss included; a lower tier every
  block looked up in it, see ``Hierarchy.count_lookup``);
* ``inserts``: entries stored;
* ``evictions``: entries evicted to make room, ``evicted_size`` their total size;
* ``rejections``: inserts refused (larger than the pool, refused by an
  admission filter, or no room because every remaining entry is pinned).
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

__all__ = ["BlockPool", "Entry", "UNPROTECTED"]

#: ``Entry.until`` of an entry no TTL protects (any clock reading is later).
UNPROTECTED = float("-inf")


@dataclass(slots=True)
class Entry:
    """One stored key: ``size`` in the pool's unit; ``tokens`` of KV it holds (0 in a replay)."""

    tokens: int
    size: int
    refs: int = 0
    hits: int = 0
    until: float = UNPROTECTED   # protected from eviction until then (TTL)


class BlockPool:
    """Entries of total size at most ``capacity`` under eviction policy ``policy``.

    ``capacity`` is in the unit of the sizes.  An owner that shares its capacity
    with blocks held outside entries (the KV manager's private blocks) makes room
    with ``evict`` and stores with ``store``; the others call ``insert``.
    """

    __slots__ = ("policy", "capacity", "entries", "parked", "used", "evictable", "peak",
                 "hits", "misses", "inserts", "evictions", "evicted_size", "rejections", "on_miss")

    def __init__(self, policy: Any, capacity: int):
        self.policy = policy
        self.capacity = int(capacity)
        self.entries: dict[Hashable, Entry] = {}
        self.parked: set = set()
        self.used = 0          # total size of the entries
        self.evictable = 0     # total size of the entries nobody pins (refs == 0)
        self.peak = 0          # the largest ``used`` seen
        self.hits = self.misses = self.inserts = 0
        self.evictions = self.evicted_size = self.rejections = 0
        #: the policy's optional ``on_miss`` (ARC/2Q/S3-FIFO see the incoming key before the
        #: evictions made for it), or None
        self.on_miss = getattr(policy, "on_miss", None)

    def __contains__(self, key) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    # ---- the eviction loop -----------------------------------------------------------------
    def evict(self, need: int, now_s: float, evicted: list | None = None) -> int | None:
        """Evict unpinned entries until at least ``need`` size is freed; returns the size freed.

        ``evicted`` gets ``(key, entry)`` per eviction, in order.  Returns None when
        only pinned entries remain before ``need`` is reached (the entries evicted
        so far stay evicted, as a cache that tried would have left them).
        """
        # NOTE: locals instead of attribute lookups in this loop, for speed (it runs per victim)
        entries, parked = self.entries, self.parked
        victim, on_remove = self.policy.victim, self.policy.on_remove
        freed = count = 0
        while freed < need:
            key = victim(now_s)
            if key is None:
                # only parked entries remain: protected ones (TTL) go, soonest expiry first
                key = min((h for h in parked if entries[h].refs == 0),
                          key=lambda h: (entries[h].until, h), default=None)
                if key is None:
                    if self.evictable - freed > 0:  # an unpinned entry the policy does not offer
                        raise AssertionError(f"{self.policy!r}.victim returned None with "
                                             f"{self.evictable - freed} unpinned of {self.used - freed} used")
                    break
                parked.remove(key)
            else:
                e = entries.get(key)
                if e is None:
                    raise AssertionError(f"{self.policy!r}.victim returned {key!r}, not stored "
                                         f"({self.used - freed} of {self.capacity} used)")
                on_remove(key)
                if e.refs > 0 or e.until > now_s:  # in use, or protected: park it
                    parked.add(key)
                    continue
            e = entries.pop(key)
            if evicted is not None:
                evicted.append((key, e))
            freed += e.size
            count += 1
        self.used -= freed
        self.evictable -= freed
        self.evictions += count
        self.evicted_size += freed
        return freed if freed >= need else None

    # ---- storing ---------------------------------------------------------------------------
    def missed(self, key, size: int, now_s: float) -> None:
        """Tell the policy about an incoming key before any eviction made for it."""
        if self.on_miss is not None:
            self.on_miss(key, size, now_s)

    def store(self, key, entry: Entry, now_s: float) -> None:
        """Add ``entry`` (room already made) and hand it to the policy."""
        size = entry.size
        self.entries[key] = entry
        self.used += size
        if entry.refs == 0:
            self.evictable += size
        if self.used > self.peak:
            self.peak = self.used
        self.inserts += 1
        self.policy.on_insert(key, size, now_s)

    def insert(self, key, entry: Entry, now_s: float, *, admit=None,
               evicted: list | None = None) -> bool:
        """A miss on ``key``: tell the policy, make room, store ``entry``; False if refused.

        ``admit(key, size, now_s) -> bool`` is an optional admission filter, asked
        after the size check and before any eviction.  When the unpinned entries
        cannot make room, nothing is evicted and the insert is refused.
        """
        size = entry.size
        if self.on_miss is not None:
            self.on_miss(key, size, now_s)
        if size > self.capacity or (admit is not None and not admit(key, size, now_s)):
            self.rejections += 1
            return False
        over = self.used + size - self.capacity
        if over > 0:
            # refuse before evicting anything: a refused insert must not cost the entries it
            # would have pushed out (nobody would write them back)
            if over > self.evictable or self.evict(over, now_s, evicted) is None:
                self.rejections += 1
                return False
        self.store(key, entry, now_s)
        return True

    # ---- use -------------------------------------------------------------------------------
    def hit(self, key, now_s: float) -> Entry:
        """A lookup found ``key``: count it on the entry and tell the policy (unless parked)."""
        e = self.entries[key]
        e.hits += 1
        if key not in self.parked:
            self.policy.on_hit(key, now_s)
        return e

    def pin(self, key) -> Entry:
        e = self.entries[key]
        if e.refs == 0:
            self.evictable -= e.size
        e.refs += 1
        return e

    def unpin(self, key, now_s: float) -> Entry:
        """One user fewer; a parked entry nobody uses or protects rejoins the policy's order."""
        e = self.entries[key]
        e.refs -= 1
        if e.refs == 0:
            self.evictable += e.size
            if key in self.parked and e.until <= now_s:
                self.parked.remove(key)
                self.policy.on_insert(key, e.size, now_s)
        return e

    def unprotect(self, key, now_s: float) -> None:
        """``key``'s protection ran out: if parked and unused, it rejoins the policy's order."""
        e = self.entries.get(key)
        if e is None or e.until > now_s:
            return
        if key in self.parked and e.refs == 0:
            self.parked.remove(key)
            self.policy.on_insert(key, e.size, now_s)

    def record(self, hits: int, misses: int) -> None:
        self.hits += hits
        self.misses += misses

    def check(self) -> None:
        """Assert the pool's sums, its parked set and the policy's own invariants."""
        entries = self.entries
        assert self.used == sum(e.size for e in entries.values()), self.used
        assert self.evictable == sum(e.size for e in entries.values() if e.refs == 0), self.evictable
        assert self.used <= self.capacity, (self.used, self.capacity)
        assert all(e.refs >= 0 for e in entries.values())
        assert self.parked <= entries.keys()
        assert len(self.policy) + len(self.parked) == len(entries), \
            (len(self.policy), len(self.parked), len(entries))
        self.policy.check()
