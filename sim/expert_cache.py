"""The HBM expert caches of an MoE model's layers, and the FIFO link that fills them.

One iteration at a time: at each layer the router's experts are looked up in that
layer's cache (eviction policy from the registry, the call order of
``memsim.policies.replay``), misses move one by one over the link and the layer
waits for them; then the ``expert_prefetch`` policy's plan starts fetches for later
layers behind them, overlapped with the layer's compute.  The serving engine keeps
one ``ExpertCache`` per replica and calls ``iteration`` for every step it runs.
"""
from __future__ import annotations

from memsim.ground.errors import ConfigError
from memsim.policies import registry

__all__ = ["ExpertCache", "label"]


def label(spec) -> str:
    """A policy spec's name (a name, ``{name: ...}`` or an instance)."""
    if isinstance(spec, dict):
        return str(spec.get("name"))
    return spec if isinstance(spec, str) else getattr(spec, "name", type(spec).__name__)


class _Layer:
    """One layer's HBM expert cache: the eviction policy, what it holds, when each arrives."""

    def __init__(self, eviction, slots: int):
        self.slots = int(slots)
        self.policy = registry.create("eviction", eviction, capacity=self.slots) if slots else None
        if self.policy is not None and hasattr(self.policy, "prepare"):
            raise ConfigError(f"eviction {label(eviction)!r} needs the future; with a prefetch "
                              "policy the accesses depend on its decisions: use prefetch none",
                              field="experts.cache.eviction")
        self.ready_s: dict[int, float] = {}     # expert -> arrival time in HBM
        self.unused: set[int] = set()           # prefetched, not yet used
        self.clock = 0                          # demand accesses so far: the policies' now_s
        self.on_miss = getattr(self.policy, "on_miss", None)

    def __contains__(self, e) -> bool:
        return e in self.ready_s

    def make_room(self, now: float, can_evict=None) -> tuple[bool, bool]:
        """Evict until one more expert fits: (room made, a prefetched expert was wasted)."""
        wasted = False
        while len(self.ready_s) + 1 > self.slots:
            v = self.policy.victim(now, can_evict)
            if v is None:
                return False, wasted
            if v not in self.ready_s:
                raise AssertionError(f"{self.policy!r}.victim returned {v!r}, not stored")
            del self.ready_s[v]
            if v in self.unused:
                self.unused.discard(v)
                wasted = True
            self.policy.on_remove(v)
        return True, wasted

    def insert(self, e: int, now: float, ready_s: float) -> None:
        self.policy.on_insert(e, 1, now)
        self.ready_s[e] = ready_s


class ExpertCache:
    """Every layer's cache (``slots[l]`` experts), a prefetch policy instance, a FIFO link.

    ``fetch_s`` is one expert's transfer time (latency + bytes / bandwidth); an
    ``iteration`` call may override it (a link share that changed).  ``counts`` holds
    accesses, hits, prefetch_hits, demand_fetches, prefetch_fetches, wasted_prefetches.
    """

    def __init__(self, *, slots, eviction, prefetch, fetch_s: float):
        self.layers = [_Layer(eviction, int(s)) for s in slots]
        self.prefetch = prefetch
        self.fetch_s = float(fetch_s)
        self.link_free_s = 0.0
        self.counts = dict.fromkeys(("accesses", "hits", "prefetch_hits", "demand_fetches",
                                     "prefetch_fetches", "wasted_prefetches"), 0)

    def iteration(self, need, layer_compute_s, *, start_s: float, other_s: float = 0.0,
                  fetch_s: float | None = None) -> tuple[float, float]:
        """Run one iteration from ``start_s``: ``need[l]`` the sorted experts layer ``l``
        uses, ``layer_compute_s[l]`` its compute.  Returns ``(end_s, stall_s)``."""
        fetch = self.fetch_s if fetch_s is None else float(fetch_s)
        look = int(getattr(self.prefetch, "lookahead_layers", 0))
        n = len(self.layers)
        clock, stall = float(start_s), 0.0
        for layer in range(n):
            t = clock
            ready = self._demand(layer, need[layer], t, fetch)
            upcoming = {layer + d: need[layer + d] for d in range(1, look + 1) if layer + d < n}
            self._prefetch(layer, need[layer], upcoming, t, fetch)
            stall += ready - t
            clock = ready + layer_compute_s[layer]
        return clock + other_s, stall

    def _demand(self, layer: int, experts, t: float, fetch: float) -> float:
        cache, c = self.layers[layer], self.counts
        ready = t
        for e in experts:                                     # replay's call order
            now = float(cache.clock)
            cache.clock += 1
            c["accesses"] += 1
            if cache.policy is not None and e in cache:
                c["hits"] += 1
                cache.policy.on_hit(e, now)
                ready = max(ready, cache.ready_s[e])
                if e in cache.unused:
                    cache.unused.discard(e)
                    c["prefetch_hits"] += 1
                continue
            self.link_free_s = max(self.link_free_s, t) + fetch
            ready = max(ready, self.link_free_s)
            c["demand_fetches"] += 1
            if cache.policy is not None:
                if cache.on_miss is not None:
                    cache.on_miss(e, 1, now)
                c["wasted_prefetches"] += cache.make_room(now)[1]
                cache.insert(e, now, self.link_free_s)
        return ready

    def _prefetch(self, layer: int, current, upcoming, t: float, fetch: float) -> None:
        """Ask the policy at this boundary and start what it chose, behind the demand fetches."""
        caches, pf, c = self.layers, self.prefetch, self.counts
        plan = pf.plan(layer, current, upcoming, lambda tl, e: e in caches[tl])
        for tl, _ in plan:
            if not (0 <= tl < len(caches) and tl != layer):
                raise AssertionError(f"{pf!r}.plan at layer {layer} returned layer {tl}")
        kept = {(tl, e) for tl, e in plan if e in caches[tl]}      # the plan's fetches spare these
        issued = 0
        for tl, e in plan:
            cache = caches[tl]
            if issued >= pf.budget:
                break
            if cache.policy is None or e in cache:
                continue
            now = float(cache.clock)
            ok, wasted = cache.make_room(now, lambda k, tl=tl: (tl, k) not in kept)
            c["wasted_prefetches"] += wasted
            if not ok:
                continue
            self.link_free_s = max(self.link_free_s, t) + fetch
            cache.insert(e, now, self.link_free_s)
            cache.unused.add(e)
            kept.add((tl, e))
            issued += 1
            c["prefetch_fetches"] += 1

    @property
    def cached_experts(self) -> int:
        return sum(len(layer.ready_s) for layer in self.layers)

    def check(self) -> None:
        for layer in self.layers:
            if layer.policy is not None:
                layer.policy.check()
                assert len(layer.policy) == len(layer.ready_s) <= layer.slots
        self.prefetch.check()
        c = self.counts
        assert c["accesses"] == c["hits"] + c["demand_fetches"]
