"""ARC: two LRU lists (seen once, seen twice) whose split adapts to ghost hits.

T1/T2 hold resident keys, B1/B2 the ghosts of keys evicted from them; ``p`` is
the target size of T1.  ``on_miss`` adapts ``p`` on a ghost hit before the
evictions (the paper's order); ``victim`` is the paper's REPLACE without moving.
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_positive

from ..registry import register

__all__ = ["ARC"]


@register("eviction")
class ARC:
    """Evict from the recency list (T1) or frequency list (T2), balancing them by ghost hits.

    Models: "ARC: A Self-Tuning, Low Overhead Replacement Cache" (Megiddo, Modha; FAST 2003).
    Parameters:
        capacity: cache size c in the caller's unit; also bounds the ghosts
            (|T1|+|B1| <= c, |T1|+|T2|+|B1|+|B2| <= 2c), sizes counted in that unit.
    Differs from the paper: with sizes other than 1 the lists are measured by
    summed size and ``p`` moves by ``size`` times the paper's step (the paper has
    unit pages).  libCacheSim's ARC.c is a byte-based variant of the same rules;
    hit counts are equal on the tested unit-size Zipf and Mooncake sequences (the
    test allows 0.5 points); with mixed sizes in a cache of only a few objects the
    two byte generalisations differ (3.8 points at 10 mean-sized objects, under 0.1
    at 100 or more).
    """

    name = "arc"

    def __init__(self, *, capacity: int):
        self.capacity = check_positive("capacity", capacity)
        self.p = 0.0
        self._t1: OrderedDict = OrderedDict()
        self._t2: OrderedDict = OrderedDict()
        self._b1: OrderedDict = OrderedDict()
        self._b2: OrderedDict = OrderedDict()
        self._used = {"t1": 0, "t2": 0, "b1": 0, "b2": 0}
        self._miss = None
        self._adapted = False
        self._last_victim = None

    def __repr__(self) -> str:
        return f"ARC(capacity={self.capacity})"

    def __len__(self) -> int:
        return len(self._t1) + len(self._t2)

    def __contains__(self, key) -> bool:
        return key in self._t1 or key in self._t2

    def _put(self, lst: str, key, size: int) -> None:
        getattr(self, "_" + lst)[key] = size
        self._used[lst] += size

    def _pop(self, lst: str, key) -> int:
        size = getattr(self, "_" + lst).pop(key)
        self._used[lst] -= size
        return size

    def _adapt(self, key, size: int) -> None:
        u = self._used
        if key in self._b1:
            self.p = min(float(self.capacity), self.p + max(u["b2"] / u["b1"], 1.0) * size)
        elif key in self._b2:
            self.p = max(0.0, self.p - max(u["b1"] / u["b2"], 1.0) * size)

    def on_miss(self, key, size: int, now_s: float) -> None:
        self._miss = key
        self._adapt(key, size)
        self._adapted = True

    def on_hit(self, key, now_s: float) -> None:
        size = self._pop("t1", key) if key in self._t1 else self._pop("t2", key)
        self._put("t2", key, size)

    def victim(self, now_s: float, can_evict=None):
        t1 = self._used["t1"]
        x_in_b2 = self._miss is not None and self._miss in self._b2
        from_t1 = t1 > 0 and (t1 > self.p or (x_in_b2 and t1 == self.p) or not self._t2)
        first, second = (self._t1, self._t2) if from_t1 else (self._t2, self._t1)
        for lst in (first, second):
            for k in lst:
                if can_evict is None or can_evict(k):
                    self._last_victim = k
                    return k
        return None

    def on_remove(self, key) -> None:
        evicted = key == self._last_victim
        self._last_victim = None
        if key in self._t1:
            x = self._miss
            x_is_ghost = x is not None and (x in self._b1 or x in self._b2)
            drop = self._used["t1"] >= self.capacity and not x_is_ghost
            size = self._pop("t1", key)
            if evicted and not drop:
                self._put("b1", key, size)
        else:
            size = self._pop("t2", key)
            if evicted:
                self._put("b2", key, size)

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self, f"{key!r} inserted twice"
        if self._miss != key:
            self._adapt(key, size)
        self._miss = None
        if key in self._b1 or key in self._b2:
            self._pop("b1" if key in self._b1 else "b2", key)
            self._put("t2", key, size)
            return
        self._put("t1", key, size)
        u, c = self._used, self.capacity
        while u["t1"] + u["b1"] > c and self._b1:
            self._pop("b1", next(iter(self._b1)))
        while u["t1"] + u["t2"] + u["b1"] + u["b2"] > 2 * c and self._b2:
            self._pop("b2", next(iter(self._b2)))

    def check(self) -> None:
        for lst in ("t1", "t2", "b1", "b2"):
            assert self._used[lst] == sum(getattr(self, "_" + lst).values()), lst
        keys = [set(getattr(self, "_" + n)) for n in ("t1", "t2", "b1", "b2")]
        assert sum(map(len, keys)) == len(set().union(*keys)), "a key is in two ARC lists"
        assert 0.0 <= self.p <= self.capacity
