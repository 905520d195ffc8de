"""Weights across tiers: where each layer's weights live, and the time of streaming the rest.

A placement gives the fraction of every layer's weights each tier holds (FlexGen's
per-layer split): ``{hbm: 60%, dram: 40%}``, or the FlexGen LP's answer.  Each
iteration the off-HBM part of every layer crosses its path into an HBM buffer, one
layer at a time on a shared link, up to ``prefetch_depth`` layers ahead of the layer
computing (and across the iteration boundary: weights do not depend on the data), so
streaming overlaps compute.  Streamed bytes per iteration are constant, which keeps
the engine's closed-form decode runs valid.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from memsim.ground.errors import ConfigError, SimulationError

from .costmodel import CostModel, IterationShape
from .offload.flexgen import offload_tiers, search
from .ssd import SSD

__all__ = ["SERVING_FIXED", "Placement", "parse_fraction", "parse_placement", "flexgen_placement", "Stream",
           "StreamPlan", "stream_plan", "StreamTiming", "stream_iteration", "closed_form_iteration_s",
           "decode_run_pieces", "layer_times", "check_fits"]

_TOL = 1e-6


def parse_fraction(value: Any, *, field: str) -> float:
    """``"60%"``, ``"60 %"`` or a number in [0, 1] -> a fraction in [0, 1]."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            f = float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ConfigError(f"{value!r} is not a percentage like \"60%\"", field=field) from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        f = float(value)
    else:
        raise ConfigError(f"{value!r} is not a fraction: write a percentage like \"60%\" or a "
                          f"number in [0, 1]", field=field)
    if not (math.isfinite(f) and 0.0 <= f <= 1.0):
        raise ConfigError(f"{value!r} is not within 0%..100%", field=field)
    return f


@dataclass(frozen=True)
class Placement:
    """Fractions of every layer's weights per tier, nearest compute first; they sum to 1."""

    fractions: tuple[tuple[str, float], ...]
    source: str = "given"

    def fraction(self, tier: str) -> float:
        return dict(self.fractions).get(tier, 0.0)

    def __repr__(self) -> str:
        inner = ", ".join(f"{t}: {100 * f:.4g}%" for t, f in self.fractions)
        return f"Placement({{{inner}}}, source={self.source!r})"


def parse_placement(spec: Mapping[str, Any], platform, *, field: str = "weights.placement") -> Placement:
    """Validate ``{tier: fraction}`` against ``platform``: known tiers below SRAM, each with a
    path to HBM, fractions summing to 100%.  One-line ConfigErrors name the field."""
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"expected a mapping of tier to fraction like {{hbm: 60%, dram: 40%}}, "
                          f"got {spec!r}", field=field)
    hbm = _hbm(platform)
    known = [t.name for t in platform.tiers if t.kind != "sram"]
    fracs: dict[str, float] = {}
    for name, v in spec.items():
        where = f"{field}.{name}"
        if name not in known:
            raise ConfigError(f"unknown tier {name!r}; weights may live in: {', '.join(known)}",
                              field=where)
        fracs[name] = parse_fraction(v, field=where)
        if name != hbm.name and fracs[name] > 0:
            platform.path(name, hbm.name)      # raises if no link reaches HBM
    total = sum(fracs.values())
    if abs(total - 1.0) > _TOL:
        raise ConfigError(f"fractions sum to {100 * total:.6g}%; they must sum to 100%", field=field)
    order = [t.name for t in platform.tiers]
    return Placement(tuple(sorted(((t, f) for t, f in fracs.items() if f > 0), key=lambda p: order.index(p[0]))))


#: What the serving engine keeps on the GPU whatever the LP says: the KV cache (its blocks live
#: in HBM and lower KV tiers are the hierarchy's business) and the activations.
SERVING_FIXED = {"kv": (1.0, 0.0, 0.0), "activations": (1.0, 0.0, 0.0)}


def flexgen_placement(platform, model, *, batch: int, prompt_len: int, gen_len: int) -> Placement:
    """The weight split of the FlexGen LP (``sim.offload.flexgen.search``) for this serving
    shape, as a placement on the platform's GPU, CPU and disk tiers.  The LP is solved with
    the serving engine's constraints: one GPU batch per iteration, KV cache and activations
    in HBM (``SERVING_FIXED``); only the weights move."""
    pol, _ = search(platform=platform, model=model, batch=batch, prompt_len=prompt_len,
                    gen_len=gen_len, num_gpu_batches=(1,), fixed=SERVING_FIXED)
    tiers = tuple(t.name for t in offload_tiers(platform))
    w = pol.fractions()["weights"]
    return Placement(tuple((t, float(f)) for t, f in zip(tiers, w) if f > 0), source="flexgen")


def _hbm(platform):
    hbm = platform.tier_of_kind("hbm")
    if hbm is None:
        raise ConfigError(f"platform {platform.name} has no hbm tier to compute from", field="tiers")
    return hbm


@dataclass(frozen=True)
class Stream:
    """One source tier's share of every layer, and the channels it crosses into HBM.

    ``channels`` are ``sim.link.Channel`` keys: ``(link, "src->dst")`` per link and
    ``(tier, "read")`` for a storage device; ``rates`` their bytes/s for this stream.
    """

    tier: str
    bytes_per_layer: int
    channels: tuple[tuple[str, str], ...]
    rates_bytes_per_s: tuple[float, ...]
    latency_s: float


@dataclass(frozen=True)
class StreamPlan:
    """What one iteration streams: per layer, each off-HBM tier's bytes over its channels."""

    layers: int
    layer_bytes: int
    hbm_tier: str
    hbm_bytes_per_layer: int
    streams: tuple[Stream, ...]

    @property
    def streamed_bytes_per_layer(self) -> int:
        return sum(s.bytes_per_layer for s in self.streams)

    @property
    def streamed_bytes_per_iteration(self) -> int:
        return self.layers * self.streamed_bytes_per_layer

    def channel_bytes_per_iteration(self) -> dict[tuple[str, str], int]:
        """Bytes each channel carries per iteration (what the engine puts on ``sim.link``)."""
        out: dict[tuple[str, str], int] = {}
        for s in self.streams:
            for key in s.channels:
                out[key] = out.get(key, 0) + self.layers * s.bytes_per_layer
        return out

    def layer_fetch_s(self, link_share: float = 1.0) -> float:
        """Seconds to bring one layer's off-HBM part into HBM with ``link_share`` of every
        channel's bandwidth (the streams of different tiers run together, pipelined)."""
        if not self.streams:
            return 0.0
        if not 0.0 < link_share <= 1.0:
            raise ConfigError(f"link_share={link_share!r} must lie in (0, 1]", field="link_share")
        load: dict[tuple[str, str], float] = {}
        for s in self.streams:
            for key, rate in zip(s.channels, s.rates_bytes_per_s):
                load[key] = load.get(key, 0.0) + s.bytes_per_layer / (rate * link_share)
        return max(load.values()) + max(s.latency_s for s in self.streams)

    def hbm_bytes(self, prefetch_depth: int) -> int:
        """HBM the weights need: the resident share plus ``prefetch_depth + 1`` layer buffers."""
        buffers = (prefetch_depth + 1) * self.streamed_bytes_per_layer if self.streams else 0
        return self.layers * self.hbm_bytes_per_layer + buffers


def stream_plan(platform, model, placement: Placement) -> StreamPlan:
    """The streams of ``placement``: bytes per layer (``weight_bytes / layers``, as the FlexGen
    model) and, per source tier, its path's channels and their one-GPU bandwidths."""
    hbm = _hbm(platform)
    layers = model.layers
    layer_bytes = model.weight_bytes / layers
    streams = []
    for tier_name, frac in placement.fractions:
        if tier_name == hbm.name:
            continue
        tier = platform.tier(tier_name)
        keys, rates, lat, cur = [], [], 0.0, tier_name
        if tier.kind in ("ssd", "flash"):
            drive = SSD(tier)
            keys.append((tier_name, "read"))
            rates.append(drive.sequential_bytes_per_s())
            lat += drive.channel_latency_s
        for link in platform.path(tier_name, hbm.name):
            nxt = link.between[1] if link.between[0] == cur else link.between[0]
            keys.append((link.name, "both" if link.duplex == "half" else f"{cur}->{nxt}"))
            rates.append(float(link.bandwidth))
            lat += float(link.latency)
            cur = nxt
        streams.append(Stream(tier_name, int(round(frac * layer_bytes)), tuple(keys), tuple(rates), lat))
    return StreamPlan(layers=layers, layer_bytes=int(round(layer_bytes)), hbm_tier=hbm.name,
                      hbm_bytes_per_layer=int(round(placement.fraction(hbm.name) * layer_bytes)),
                      streams=tuple(streams))


@dataclass(frozen=True)
class StreamTiming:
    """One steady-state iteration of layer-by-layer streaming overlapped with compute."""

    iteration_s: float
    compute_s: float           # sum of the layers' compute plus other_s
    stall_s: float             # iteration_s - compute_s: compute waiting for weights
    layer_fetch_s: float       # one layer's off-HBM part alone on its links
    streamed_bytes: int        # per iteration
    layers: int

    @property
    def link_busy_fraction(self) -> float:
        """Share of the iteration the stream keeps its bottleneck channel busy."""
        busy = self.layer_fetch_s * self.layers
        return 0.0 if self.iteration_s <= 0 else min(1.0, busy / self.iteration_s)


def stream_iteration(plan: StreamPlan, layer_compute_s, *, prefetch_depth: int = 1,
                     other_s: float = 0.0, link_share: float = 1.0,
                     warmup_iterations: int = 3) -> StreamTiming:
    """Steady-state iteration time, exactly, by the layer recurrence.

    Layer ``k`` (counting on across iterations) is fetched on one FIFO link when
    the link is free and layer ``k - 1 - prefetch_depth`` has finished computing
    (the buffer holds ``prefetch_depth + 1`` layers; depth 0 = fetch, then compute);
    it computes when layer ``k - 1`` is done and its weights have arrived.
    ``layer_compute_s`` is a number or one per layer; ``other_s`` is added after
    the last layer (LM head, launch overheads).
    """
    if isinstance(prefetch_depth, bool) or not isinstance(prefetch_depth, int) or prefetch_depth < 0:
        raise ConfigError(f"prefetch_depth={prefetch_depth!r} must be an int >= 0", field="prefetch_depth")
    L = plan.layers
    c = np.broadcast_to(np.asarray(layer_compute_s, dtype=float), (L,))
    f = plan.layer_fetch_s(link_share) if plan.streams else 0.0
    n_iter = warmup_iterations + 1
    done = np.zeros(n_iter * L)          # compute end of every layer
    link_free = prev_end = 0.0
    first = (n_iter - 1) * L             # the measured iteration's first layer
    stall = 0.0
    for k in range(n_iter * L):
        gate = done[k - 1 - prefetch_depth] if k - 1 - prefetch_depth >= 0 else 0.0
        if f:
            arrive = link_free = max(link_free, gate) + f
        else:
            arrive = prev_end
        if k >= first:
            stall += max(0.0, arrive - prev_end)
        start = max(prev_end, arrive)
        done[k] = start + c[k % L] + (other_s if k % L == L - 1 else 0.0)
        prev_end = done[k]
    compute = float(c.sum() + other_s)
    it = done[-1] - done[first - 1] if n_iter > 1 else done[-1]
    return StreamTiming(iteration_s=float(it), compute_s=compute, stall_s=float(stall),
                        layer_fetch_s=float(f), streamed_bytes=plan.streamed_bytes_per_iteration,
                        layers=L)


def closed_form_iteration_s(plan: StreamPlan, layer_compute_s: float, *, prefetch_depth: int = 1,
                            other_s: float = 0.0, link_share: float = 1.0) -> float:
    """Uniform layers in steady state: ``max(L * f, L * c + other_s)`` with prefetch (the link
    keeps streaming through ``other_s``), ``L * (c + f) + other_s`` without.

    Exact while ``other_s`` fits in what the buffer lets the link run ahead (``c +
    other_s <= f + prefetch_depth * (f - c)`` when streaming bounds); ``stream_iteration``
    is exact for any per-layer times.
    """
    f = plan.layer_fetch_s(link_share)
    L, c = plan.layers, layer_compute_s
    if prefetch_depth >= 1:
        return max(L * f, L * c + other_s)
    return L * (c + f) + other_s


def decode_run_pieces(a: float, b: float, *, stream_s: float, prefetch_depth: int, s0: float, n: int,
                      steps: int) -> list[tuple[int, float, float]]:
    """A closed-form decode run with streamed weights, as affine pieces ``(steps, a_i, b_i)``.

    With every weight in HBM an iteration reading ``S`` KV tokens takes ``a + b * S``
    (the engine's ``decode_affine``); streaming ``stream_s = L * f`` per iteration
    makes it ``max(stream_s, a + b * S)`` with prefetch and ``a + stream_s + b * S``
    without.  ``S`` starts at ``s0`` and grows by ``n`` per step, so the link-bound
    steps come first: at most two pieces, each affine in ``S`` like an ordinary run.
    """
    if steps <= 0:
        return []
    if prefetch_depth < 1:
        return [(steps, a + stream_s, b)]
    if b <= 0 or n <= 0:
        return [(steps, stream_s, 0.0)] if stream_s > a + b * s0 else [(steps, a, b)]
    # steps j (0-based) with a + b * (s0 + j * n) < stream_s are link-bound
    bound = math.ceil((stream_s - a - b * s0) / (b * n)) if stream_s > a + b * s0 else 0
    k = max(0, min(steps, bound))
    return [p for p in ((k, stream_s, 0.0), (steps - k, a, b)) if p[0] > 0]


def layer_times(platform, model, *, batch: int, context_tokens: int, tp: int = 1) -> tuple[float, float]:
    """``(seconds per layer, seconds outside the layers)`` of one decode iteration with every
    weight in HBM, from the engine's cost model (the iteration less what runs outside the
    layers: host overhead, embedding, LM head and sampling; split evenly over the layers)."""
    if batch < 1 or context_tokens < 0:
        raise ConfigError(f"batch={batch}, context_tokens={context_tokens}: need batch >= 1, "
                          f"context >= 0", field="batch")
    cost = CostModel(platform, model, tp=tp)
    t = cost.time(IterationShape(decode_seqs=batch, decode_kv_tokens=batch * context_tokens))
    other = cost.iter.outside_layers_s(batch, batch)
    return (t - other) / model.layers, other


def check_fits(plan: StreamPlan, *, prefetch_depth: int, kv_bytes: int, hbm_capacity_bytes: int) -> int:
    """HBM left after the weights' share, their stream buffers and ``kv_bytes`` (>= 0), or a
    SimulationError saying what does not fit."""
    need = plan.hbm_bytes(prefetch_depth) + int(kv_bytes)
    if need > hbm_capacity_bytes:
        raise SimulationError(f"weights in HBM ({plan.hbm_bytes(prefetch_depth) / 2**30:.2f} GiB with "
                              f"{prefetch_depth + 1} stream buffers) and KV ({kv_bytes / 2**30:.2f} GiB) "
                              f"exceed HBM ({hbm_capacity_bytes / 2**30:.2f} GiB); move more weights "
                              f"out of HBM or shrink the batch")
    return int(hbm_capacity_bytes - need)
