"""CLOCK: FIFO order plus a small reference counter that buys a key another lap.

``victim()`` simulates the hand's lap without moving anything and caches the
plan; ``on_remove(victim)`` commits the plan (counters decremented, keys moved
to the newest end), exactly as libCacheSim's ``Clock_evict`` would.
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import ConfigError, check_positive

from ..registry import register
from ._scan import clock_plan

__all__ = ["Clock"]


@register("eviction")
class Clock:
    """Evict the oldest key whose reference counter is zero, decrementing the others.

    Models: CLOCK (second chance), "A Paging Experiment with the Multics System" (Corbató, 1968); the n-bit variant as in libCacheSim's Clock.c.
    Parameters:
        capacity: cache size in the caller's unit; informational.
        bits: counter width in bits (default 1 = classic second chance); a hit adds
            one up to ``2**bits - 1``.
        init_freq: counter of a newly inserted key (default 0, libCacheSim's).
    Differs from the paper: the hand is modelled as FIFO re-insertion (a key that
    survives the hand moves to the newest end), which visits keys in the same
    order as a circular hand.  Hit counts equal libCacheSim's Clock on the tested
    Zipf and Mooncake sequences (the test allows 0.5 points).
    """

    name = "clock"

    def __init__(self, *, capacity: int, bits: int = 1, init_freq: int = 0):
        self.capacity = check_positive("capacity", capacity)
        if not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ConfigError(f"bits={bits!r} must be an integer in 1..16", field="bits")
        self.bits = bits
        self.max_freq = (1 << bits) - 1
        if not isinstance(init_freq, int) or not 0 <= init_freq <= self.max_freq:
            raise ConfigError(f"init_freq={init_freq!r} must be in 0..{self.max_freq}",
                              field="init_freq")
        self.init_freq = init_freq
        self._order: OrderedDict = OrderedDict()   # key -> counter, oldest first
        self._size: dict = {}
        self._version = 0
        self._pending = None                       # (version, victim, plan)

    def __repr__(self) -> str:
        return f"Clock(capacity={self.capacity}, bits={self.bits}, init_freq={self.init_freq})"

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key) -> bool:
        return key in self._order

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self._order, f"{key!r} inserted twice"
        self._order[key] = self.init_freq
        self._size[key] = size
        self._version += 1

    def on_hit(self, key, now_s: float) -> None:
        if self._order[key] < self.max_freq:
            self._order[key] += 1
            self._version += 1

    def victim(self, now_s: float, can_evict=None):
        key, plan = clock_plan(self._order, self._order.__getitem__, can_evict)
        self._pending = (self._version, key, plan)
        return key

    def on_remove(self, key) -> None:
        p = self._pending
        if p is not None and p[0] == self._version and p[1] == key:
            for k, f in p[2]:
                self._order.move_to_end(k)
                self._order[k] = f
        self._pending = None
        del self._order[key]
        del self._size[key]
        self._version += 1

    def check(self) -> None:
        assert len(self._order) == len(self._size)
        assert all(0 <= f <= self.max_freq for f in self._order.values())
