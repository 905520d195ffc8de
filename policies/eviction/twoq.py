"""2Q: a FIFO for keys seen once, an LRU for keys seen again, and a ghost FIFO between.

A miss goes to A1in; a key evicted from A1in leaves its id in A1out; a miss on
an A1out id goes straight to Am (the LRU).  ``on_miss`` pulls the incoming key
out of A1out before the evictions it causes.
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_fraction, check_positive

from ..registry import register
from ._scan import first_allowed

__all__ = ["TwoQ"]


@register("eviction")
class TwoQ:
    """Evict from the once-seen FIFO (A1in) while it exceeds its share, else from the LRU (Am).

    Models: "2Q: A Low Overhead High Performance Buffer Management Replacement Algorithm" (Johnson, Shasha; VLDB 1994), the full version with A1in/A1out/Am.
    Parameters:
        capacity: cache size in the caller's unit.
        in_fraction: A1in share Kin of the capacity (default 0.25, the paper's and
            libCacheSim's).
        out_fraction: A1out ghost size Kout as a share of the capacity (default 0.5).
    Differs from the paper: nothing for unit sizes; sizes count in the caller's unit.
    Below 4 objects Kin rounds to 0 and A1in is evicted first whenever it is not
    empty; libCacheSim's TwoQ differs there, and is identical from 4 objects up on
    the tested sequences.
    """

    name = "2q"

    def __init__(self, *, capacity: int, in_fraction: float = 0.25, out_fraction: float = 0.5):
        self.capacity = check_positive("capacity", capacity)
        self.in_fraction = check_fraction("in_fraction", in_fraction)
        self.out_fraction = check_fraction("out_fraction", out_fraction)
        self.k_in = int(capacity * in_fraction)
        self.k_out = int(capacity * out_fraction)
        self._a1in: OrderedDict = OrderedDict()
        self._a1out: OrderedDict = OrderedDict()
        self._am: OrderedDict = OrderedDict()
        self._in_used = 0
        self._out_used = 0
        self._reclaim = None
        self._last_victim = None

    def __repr__(self) -> str:
        return (f"TwoQ(capacity={self.capacity}, in_fraction={self.in_fraction}, "
                f"out_fraction={self.out_fraction})")

    def __len__(self) -> int:
        return len(self._a1in) + len(self._am)

    def __contains__(self, key) -> bool:
        return key in self._a1in or key in self._am

    def on_miss(self, key, size: int, now_s: float) -> None:
        self._reclaim = None
        if key in self._a1out:
            self._out_used -= self._a1out.pop(key)
            self._reclaim = key

    def on_hit(self, key, now_s: float) -> None:
        if key in self._am:
            self._am.move_to_end(key)

    def victim(self, now_s: float, can_evict=None):
        if self._in_used > self.k_in or not self._am:
            order = (self._a1in, self._am)
        else:
            order = (self._am, self._a1in)
        for lst in order:
            k = first_allowed(lst, can_evict)
            if k is not None:
                self._last_victim = k
                return k
        return None

    def on_remove(self, key) -> None:
        evicted = key == self._last_victim
        self._last_victim = None
        if key in self._am:
            del self._am[key]
            return
        size = self._a1in.pop(key)
        self._in_used -= size
        if evicted and self.k_out > 0:
            self._a1out[key] = size
            self._out_used += size
            while self._out_used > self.k_out:
                self._out_used -= self._a1out.popitem(last=False)[1]

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self, f"{key!r} inserted twice"
        if key in self._a1out:
            self._out_used -= self._a1out.pop(key)
            self._reclaim = key
        if self._reclaim == key:
            self._am[key] = size
        else:
            self._a1in[key] = size
            self._in_used += size
        self._reclaim = None

    def check(self) -> None:
        assert self._in_used == sum(self._a1in.values())
        assert self._out_used == sum(self._a1out.values()) <= max(self.k_out, 0)
        assert not (set(self._a1in) & set(self._am))
        assert not (set(self._a1out) & (set(self._a1in) | set(self._am)))
