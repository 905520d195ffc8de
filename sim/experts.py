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

from .expert_cache import ExpertCache, label
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


def needed_experts(routing: np.ndarray, batch: int, experts: int | None = None) -> np.ndarray:
    """``touched[iteration, layer, expert]``: the experts each iteration's batch uses per layer
    (``batch`` consecutive tokens form an iteration; a partial last batch is dropped).
    ``experts`` defaults to the largest id in ``routing`` + 1."""
    tokens, layers, _ = routing.shape
    iters = tokens // batch
    if iters < 1:
        raise ConfigError(f"{tokens} tokens make no full batch of {batch}", field="batch")
    r = routing[:iters * batch].reshape(iters, batch, layers, -1).astype(np.int64)
    top = int(routing.max()) + 1
    experts = top if experts is None else int(experts)
    if experts < top:
        raise ConfigError(f"routing names expert {top - 1}; the model has {experts}", field="routing")
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


def simulate_expert_cache(routing: np.ndarray, *, slots, expert_bytes: int, link_bytes_per_s: float,
                          link_latency_s: float, layer_compute_s, other_s: float = 0.0, batch: int = 1,
                          eviction: Any = "lru", prefetch: Any = "none", budget: int | None = None,
                          experts: int | None = None, driver: str = "auto") -> ExpertCacheResult:
    """Run the expert cache over ``routing`` ``[tokens, layers, active]``.

    ``slots`` is ``expert_slots(...)`` (or an int per layer); ``layer_compute_s`` a
    number or one per layer (the layer's time with its experts in HBM); ``other_s``
    is added per iteration.  ``prefetch`` is an ``expert_prefetch`` spec, ``budget``
    its default budget (``active x batch``, at most the experts of a layer); ``experts``
    the experts per layer (default: the largest id in ``routing`` + 1).
    ``driver``: ``replay`` (only without prefetch), ``python`` (the loop below,
    any policies but offline ones with prefetch), ``auto`` (replay when it can).
    """
    routing = np.asarray(routing)
    if routing.ndim != 3 or routing.size == 0:
        raise ConfigError(f"routing has shape {routing.shape}; expected [tokens, layers, active]",
                          field="routing")
    tokens, layers, active = routing.shape
    touched = needed_experts(routing, int(batch), experts)
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
    common = dict(eviction=label(eviction), prefetch=label(prefetch), slots=int(slots.sum()),
                  batch=int(batch), iterations=touched.shape[0], expert_bytes=int(expert_bytes))
    if use_replay:
        hits, misses = _replay_hits(touched, slots, eviction)
        stall = (misses * fetch_s).sum(axis=1)
        it_s = compute.sum() + other_s + stall
        return ExpertCacheResult(**common, accesses=int(touched.sum()), hits=hits, prefetch_hits=0,
                                 demand_fetches=int(misses.sum()), prefetch_fetches=0,
                                 wasted_prefetches=0, iteration_s=it_s, stall_s=stall)
    cache = ExpertCache(slots=slots, eviction=eviction, prefetch=pf, fetch_s=fetch_s)
    iters, layers, _ = touched.shape
    it_s, stall_s = np.zeros(iters), np.zeros(iters)
    clock = 0.0
    for i in range(iters):
        need = [np.flatnonzero(touched[i, layer]).tolist() for layer in range(layers)]
        end, stall_s[i] = cache.iteration(need, compute, start_s=clock, other_s=other_s)
        it_s[i], clock = end - clock, end
    cache.check()
    n = cache.counts
    return ExpertCacheResult(**common, accesses=n["accesses"], hits=n["hits"],
                             prefetch_hits=n["prefetch_hits"], demand_fetches=n["demand_fetches"],
                             prefetch_fetches=n["prefetch_fetches"], wasted_prefetches=n["wasted_prefetches"],
                             iteration_s=it_s, stall_s=stall_s)


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
