"""MoE experts beyond HBM: a per-layer HBM expert cache, misses fetched over the link.

Every layer's experts live in a lower tier; each layer has an HBM cache of ``slots``
experts run by an eviction policy of the registry.  An iteration (one step of the
batch) runs the layers in order; at a layer its router's experts are looked up
(demand accesses, in the order ``memsim.policies.replay`` uses), misses are fetched
one by one on a FIFO link (``latency + expert_bytes / bandwidth`` each) and the layer
waits for them; then an ``expert_prefetch`` policy may start fetches for later layers,
which move behind the demand fetches while the layer computes.  Without prefetch the
hits come straight from ``replay`` (the Numba kernels; offline policies too).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memsim.ground.errors import ConfigError
from memsim.ground.units import format_size
from memsim.policies import registry
from memsim.policies.replay import replay

from .ssd import SSD

__all__ = ["ExpertCacheResult", "expert_slots", "needed_experts", "simulate_expert_cache",
           "expert_link"]


def expert_slots(capacity, *, layers: int, experts: int, expert_bytes: int) -> np.ndarray:
    """HBM cache slots per layer: an int is experts per layer; a byte count (int >= the bytes
    of one expert, given as ``("bytes", n)``) is spread over the layers, the first layers
    taking the remainder.  Never more than ``experts`` per layer."""
    if isinstance(capacity, tuple) and len(capacity) == 2 and capacity[0] == "bytes":
        total = int(capacity[1]) // int(expert_bytes)
        if total > layers * experts:
            raise ConfigError(f"{format_size(capacity[1])} holds {total} experts; the model has only "
                              f"{layers * experts} ({experts} per layer x {layers} layers)",
                              field="experts.cache.capacity")
        base, extra = divmod(total, layers)
        return np.array([base + (1 if i < extra else 0) for i in range(layers)], dtype=np.int64)
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 0:
        raise ConfigError(f"capacity={capacity!r} must be an int >= 0 (experts per layer)",
                          field="experts.cache.capacity")
    if capacity > experts:
        raise ConfigError(f"capacity {capacity} exceeds the {experts} experts of a layer",
                          field="experts.cache.capacity")
    return np.full(layers, int(capacity), dtype=np.int64)


def needed_experts(routing: np.ndarray, batch: int) -> np.ndarray:
    """``touched[iteration, layer, expert]``: the experts each iteration's batch uses per layer
    (``batch`` consecutive tokens form an iteration; a partial last batch is dropped)."""
    tokens, layers, _ = routing.shape
    iters = tokens // batch
    if iters < 1:
        raise ConfigError(f"{tokens} tokens make no full batch of {batch}", field="batch")
    r = routing[:iters * batch].reshape(iters, batch, layers, -1).astype(np.int64)
    experts = int(routing.max()) + 1
    touched = np.zeros((iters, layers, experts), dtype=bool)
    it = np.arange(iters)[:, None, None, None]
    lay = np.arange(layers)[None, None, :, None]
    touched[np.broadcast_to(it, r.shape), np.broadcast_to(lay, r.shape), r] = True
    return touched


def expert_link(platform, tier: str, *, hbm: str | None = None,
                bandwidth_bytes_per_s: float | None = None) -> tuple[float, float]:
    """``(bytes/s, latency s)`` for an expert moving from ``tier`` into HBM on one GPU: the
    narrowest link of the path (a drive's sequential rate for an SSD tier), the path's
    latency; ``bandwidth_bytes_per_s`` replaces the links' bandwidth (a what-if link)."""
    hbm = hbm or platform.tier_of_kind("hbm").name
    src = platform.tier(tier)
    if src.kind in ("sram", "hbm"):
        raise ConfigError(f"tier {tier!r} is {src.kind}; experts are offloaded to a tier below HBM",
                          field="experts.tier")
    links = platform.path(tier, hbm)
    bw = min(float(lk.bandwidth) for lk in links) if bandwidth_bytes_per_s is None \
        else float(bandwidth_bytes_per_s)
    lat = sum(float(lk.latency) for lk in links)
    if src.kind in ("ssd", "flash"):
        drive = SSD(src)
        bw = min(bw, drive.sequential_bytes_per_s())
        lat += drive.channel_latency_s
    return bw, lat


@dataclass
class ExpertCacheResult:
    """One eviction x prefetch run; times are per iteration (one output token per sequence)."""

    eviction: str
    prefetch: str
    slots: int                       # cache slots over all layers
    batch: int
    iterations: int
    accesses: int                    # (iteration, layer, expert) demand lookups
    hits: int
    prefetch_hits: int               # hits on experts a prefetch brought in, first use
    demand_fetches: int
    prefetch_fetches: int
    wasted_prefetches: int           # prefetched, evicted before any use
    expert_bytes: int
    iteration_s: np.ndarray = field(repr=False)
    stall_s: np.ndarray = field(repr=False)

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.accesses if self.accesses else 0.0

    @property
    def fetched_bytes(self) -> int:
        return (self.demand_fetches + self.prefetch_fetches) * self.expert_bytes

    @property
    def stall_s_per_token(self) -> float:
        return float(self.stall_s.mean())

    @property
    def tpot_s(self) -> float:
        return float(self.iteration_s.mean())

    def row(self) -> dict[str, Any]:
        return {"eviction": self.eviction, "prefetch": self.prefetch, "slots": self.slots,
                "batch": self.batch, "iterations": self.iterations, "accesses": self.accesses,
                "hits": self.hits, "hit_ratio": self.hit_ratio, "prefetch_hits": self.prefetch_hits,
                "demand_fetches": self.demand_fetches, "prefetch_fetches": self.prefetch_fetches,
                "wasted_prefetches": self.wasted_prefetches, "fetched_bytes": self.fetched_bytes,
                "stall_s_per_token": self.stall_s_per_token, "tpot_s": self.tpot_s}


def _label(spec) -> str:
    if isinstance(spec, dict):
        return str(spec.get("name"))
    return spec if isinstance(spec, str) else getattr(spec, "name", type(spec).__name__)


def simulate_expert_cache(routing: np.ndarray, *, slots, expert_bytes: int, link_bytes_per_s: float,
                          link_latency_s: float, layer_compute_s, other_s: float = 0.0, batch: int = 1,
                          eviction: Any = "lru", prefetch: Any = "none", budget: int | None = None,
                          driver: str = "auto") -> ExpertCacheResult:
    """Run the expert cache over ``routing`` ``[tokens, layers, active]``.

    ``slots`` is ``expert_slots(...)`` (or an int per layer); ``layer_compute_s`` a
    number or one per layer (the layer's time with its experts in HBM); ``other_s``
    is added per iteration.  ``prefetch`` is an ``expert_prefetch`` spec, ``budget``
    its default budget (``active x batch``, at most the experts of a layer).
    ``driver``: ``replay`` (only without prefetch), ``python`` (the loop below,
    any policies but offline ones with prefetch), ``auto`` (replay when it can).
    """
    routing = np.asarray(routing)
    if routing.ndim != 3 or routing.size == 0:
        raise ConfigError(f"routing has shape {routing.shape}; expected [tokens, layers, active]",
                          field="routing")
    tokens, layers, active = routing.shape
    touched = needed_experts(routing, int(batch))
    experts = touched.shape[2]
    slots = np.broadcast_to(np.asarray(slots, dtype=np.int64), (layers,)).copy()
    compute = np.broadcast_to(np.asarray(layer_compute_s, dtype=float), (layers,))
    fetch_s = float(link_latency_s) + float(expert_bytes) / float(link_bytes_per_s)
    budget = min(experts, active * int(batch)) if budget is None else int(budget)
    pf = registry.create("expert_prefetch", prefetch, layers=layers, experts=experts, budget=budget)
    use_replay = driver == "replay" or (driver == "auto" and getattr(pf, "name", "") == "none")
    if driver not in ("auto", "replay", "python"):
        raise ConfigError(f"driver={driver!r} must be auto, replay or python", field="driver")
    if use_replay and getattr(pf, "name", "") != "none":
        raise ConfigError("the replay driver runs without prefetch only", field="driver")
    common = dict(eviction=_label(eviction), prefetch=_label(prefetch), slots=int(slots.sum()),
                  batch=int(batch), iterations=touched.shape[0], expert_bytes=int(expert_bytes))
    if use_replay:
        hits, misses = _replay_hits(touched, slots, eviction)
        stall = (misses * fetch_s).sum(axis=1)
        it_s = compute.sum() + other_s + stall
        return ExpertCacheResult(**common, accesses=int(touched.sum()), hits=hits, prefetch_hits=0,
                                 demand_fetches=int(misses.sum()), prefetch_fetches=0,
                                 wasted_prefetches=0, iteration_s=it_s, stall_s=stall)
    return _run_python(touched, slots, eviction, pf, compute, other_s, fetch_s, common)


def _replay_hits(touched: np.ndarray, slots: np.ndarray, eviction) -> tuple[int, np.ndarray]:
    """Hits overall and misses ``[iterations, layers]``, one ``replay`` per layer."""
    iters, layers, _ = touched.shape
    misses = touched.sum(axis=2).astype(np.int64)
    hits = 0
    for layer in range(layers):
        it, ids = np.nonzero(touched[:, layer, :])           # by iteration, then expert id
        if slots[layer] == 0 or len(ids) == 0:
            continue
        r = replay(ids, eviction, int(slots[layer]), keep_hits=True)
        hits += r.hits
        misses[:, layer] -= np.bincount(it, weights=r.hit, minlength=iters).astype(np.int64)
    return hits, misses


class _Layer:
    """One layer's HBM expert cache: the eviction policy, what it holds, when each arrives."""

    def __init__(self, eviction, slots: int):
        self.slots = int(slots)
        self.policy = registry.create("eviction", eviction, capacity=self.slots) if slots else None
        if self.policy is not None and hasattr(self.policy, "prepare"):
            raise ConfigError(f"eviction {_label(eviction)!r} needs the future; with a prefetch "
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


def _run_python(touched, slots, eviction, pf, compute, other_s, fetch_s, common) -> ExpertCacheResult:
    iters, layers, _ = touched.shape
    caches = [_Layer(eviction, s) for s in slots]
    need = [[np.flatnonzero(touched[i, layer]).tolist() for layer in range(layers)] for i in range(iters)]
    n = {"hits": 0, "prefetch_hits": 0, "demand": 0, "prefetch": 0, "wasted": 0}
    it_s, stall_s = np.zeros(iters), np.zeros(iters)
    clock = link_free = 0.0
    look = int(getattr(pf, "lookahead_layers", 0))
    for i in range(iters):
        start_it = clock
        for layer in range(layers):
            cur, cache, t = need[i][layer], caches[layer], clock
            ready = t
            for e in cur:                                     # demand: replay's call order
                now = float(cache.clock)
                cache.clock += 1
                if cache.policy is not None and e in cache:
                    n["hits"] += 1
                    cache.policy.on_hit(e, now)
                    ready = max(ready, cache.ready_s[e])
                    if e in cache.unused:
                        cache.unused.discard(e)
                        n["prefetch_hits"] += 1
                    continue
                link_free = max(link_free, t) + fetch_s
                ready = max(ready, link_free)
                n["demand"] += 1
                if cache.policy is not None:
                    if cache.on_miss is not None:
                        cache.on_miss(e, 1, now)
                    _, wasted = cache.make_room(now)
                    n["wasted"] += wasted
                    cache.policy.on_insert(e, 1, now)
                    cache.ready_s[e] = link_free
            upcoming = {layer + d: need[i][layer + d] for d in range(1, look + 1) if layer + d < layers}
            link_free = _prefetch(pf, layer, cur, upcoming, caches, t, link_free, fetch_s, n)
            stall_s[i] += ready - t
            clock = ready + compute[layer]
        clock += other_s
        it_s[i] = clock - start_it
    for c in caches:
        if c.policy is not None:
            c.policy.check()
            assert len(c.policy) == len(c.ready_s) <= c.slots
    pf.check()
    return ExpertCacheResult(**common, accesses=int(touched.sum()), hits=n["hits"],
                             prefetch_hits=n["prefetch_hits"], demand_fetches=n["demand"],
                             prefetch_fetches=n["prefetch"], wasted_prefetches=n["wasted"],
                             iteration_s=it_s, stall_s=stall_s)


def _prefetch(pf, layer, cur, upcoming, caches, t, link_free, fetch_s, n) -> float:
    """Ask the policy at this boundary and start what it chose; returns when the link frees."""
    layers = len(caches)

    def cached(tl, e):
        return e in caches[tl]

    plan = pf.plan(layer, cur, upcoming, cached)
    for tl, _ in plan:
        if not (0 <= tl < layers and tl != layer):
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
        n["wasted"] += wasted
        if not ok:
            continue
        link_free = max(link_free, t) + fetch_s
        cache.policy.on_insert(e, 1, now)
        cache.ready_s[e] = link_free
        cache.unused.add(e)
        kept.add((tl, e))
        issued += 1
        n["prefetch"] += 1
    return link_free
