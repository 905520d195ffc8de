"""Serving beyond HBM: weights streamed from lower tiers, MoE experts through an HBM cache.

The serve loop (``sim/serve.py``) asks the run's ``WeightStream`` or ``ExpertStage``
for the time of every iteration and decode run it executes:

- ``WeightStream``: each layer's off-HBM share (``sim.weights.stream_plan``) crosses
  its path every iteration, ``prefetch_depth`` layers ahead of compute.  An iteration
  whose compute alone takes ``C`` takes ``max(L·f, C)`` with prefetch and ``C + L·f``
  without (``sim.weights.closed_form_iteration_s`` with ``c = (C - other) / L``), where
  ``f`` is one layer's fetch with a share ``σ`` of its channels.  A closed-form decode
  run is split by ``decode_run_pieces`` and the loop runs its first affine piece.
- ``ExpertStage``: every layer's experts live in one lower tier; the iteration's
  routed experts go through ``sim.expert_cache.ExpertCache`` (misses fetched before
  the layer runs, a prefetch policy behind them); the layer compute is the cost
  model's.  A decode run is stepped iteration by iteration in Python, without SimPy
  events, so events still scale with the batch's changes.

Both share their link with KV transfers in the fluid network (``sim/link.py``): while
the engine computes, the stream is one more flow on each of its channels
(``Network.hold``), so KV loads get a fair share less; the stream's share is
``σ = 1 / (1 + KV transfers on its busiest channel)`` at the start of each run.  Its
bytes are added to the channels' counters when the run ends (``Network.account``),
so the links table and ``link_*_bytes`` carry them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from memsim.ground.errors import ConfigError
from memsim.policies import create

from .expert_cache import ExpertCache, label
from .link import Channel, Network
from .serve import run_time
from .ssd import SSD
from .weights import decode_run_pieces

__all__ = ["LinkSet", "WeightStream", "ExpertStage", "path_channels", "ROUTING_STRIDE"]

#: A request's routing rows start at ``request_id * ROUTING_STRIDE`` (mod the routing's
#: tokens); its tokens use consecutive rows.  A prime, so requests do not line up.
ROUTING_STRIDE = 1009


class LinkSet:
    """Channels for traffic outside the KV hierarchy: the hierarchy's own (same keys, same
    network) when the run has KV tiers, else a network of its own that the recorder samples."""

    def __init__(self, env, hier):
        self.hier = hier
        self.net = hier.net if hier is not None else Network(env)
        self._own: dict[tuple[str, str], Channel] = {}

    @property
    def channels(self) -> dict[tuple[str, str], Channel]:
        return self.hier.channels if self.hier is not None else self._own

    def channel(self, key: tuple[str, str], bytes_per_s: float) -> Channel:
        chans = self.channels
        ch = chans.get(key)
        if ch is None:
            ch = self.net.register(Channel(key[0], key[1], lambda n, bw=float(bytes_per_s): bw))
            chans[key] = ch
        return ch


def path_channels(platform, tier: str, hbm: str) -> list[tuple[tuple[str, str], float]]:
    """``[(channel key, bytes/s)]`` from ``tier`` into HBM: the drive's read side for an SSD
    tier, then every link (keys as ``sim.hierarchy`` names them)."""
    src = platform.tier(tier)
    out = []
    if src.kind in ("ssd", "flash"):
        out.append(((tier, "read"), SSD(src).sequential_bytes_per_s()))
    cur = tier
    for link in platform.path(tier, hbm):
        nxt = link.between[1] if link.between[0] == cur else link.between[0]
        out.append(((link.name, "both" if link.duplex == "half" else f"{cur}->{nxt}"), float(link.bandwidth)))
        cur = nxt
    return out


class _Stage:
    """What both stages share: their channels, the hold while the engine computes, totals."""

    steps_each = False          # True: a decode run is stepped one iteration at a time

    def __init__(self, links: LinkSet, keyed_rates):
        self.links = links
        self.channels = tuple(links.channel(k, r) for k, r in keyed_rates)
        self.stall_s = 0.0
        self.steps = 0
        self._held = False
        self._bytes_pending = [0.0] * len(self.channels)    # per channel, since the last release

    def share(self) -> float:
        """This stream's fair share of its busiest channel now (it is not holding)."""
        return 1.0 / (1 + max((c.active for c in self.channels), default=0))

    def hold(self) -> None:
        if self.channels:
            self.links.net.hold(self.channels)
            self._held = True

    def release(self, steps: int, stall_s: float) -> None:
        """The run of ``steps`` iterations that held the channels has ended."""
        if self._held:
            self.links.net.release(self.channels)
            self._held = False
        self.steps += steps
        self.stall_s += stall_s
        pending, self._bytes_pending = self._bytes_pending, [0.0] * len(self.channels)
        for ch, nbytes in zip(self.channels, pending):
            if nbytes:
                self.links.net.account(nbytes, (ch,))

    def link_summary(self) -> dict[str, float]:
        """``link_<name>_<direction>_bytes`` of its channels when no hierarchy reports them."""
        if self.links.hier is not None:
            return {}
        return {f"link_{c.name}_{c.direction}_bytes": float(c.bytes_total)
                for c in sorted(self.channels, key=lambda c: c.key)}


class WeightStream(_Stage):
    """Layers' off-HBM shares streamed every iteration, overlapped with compute."""

    def __init__(self, links: LinkSet, plan, *, prefetch_depth: int, placement):
        keys = {}
        for s in plan.streams:
            for key, rate in zip(s.channels, s.rates_bytes_per_s):
                keys.setdefault(key, rate)
        super().__init__(links, list(keys.items()))
        self.plan, self.depth, self.placement = plan, int(prefetch_depth), placement
        self.streamed_bytes = 0
        # each channel carries the streams that cross it (PCIe all of them, a drive its tier's)
        per = plan.channel_bytes_per_iteration()
        self._channel_bytes = [per[c.key] for c in self.channels]

    def _stream_s(self) -> float:
        return self.plan.layers * self.plan.layer_fetch_s(self.share())

    def _iterations(self, steps: int) -> None:
        self.streamed_bytes += self.plan.streamed_bytes_per_iteration * steps
        for i, b in enumerate(self._channel_bytes):
            self._bytes_pending[i] += b * steps

    def iteration(self, now: float, compute_s: float, shape, chunks, decoding) -> tuple[float, float]:
        """(seconds, stall) of one planned iteration whose compute alone takes ``compute_s``."""
        st = self._stream_s()
        dur = max(st, compute_s) if self.depth >= 1 else compute_s + st
        self._iterations(1)
        return dur, dur - compute_s

    def plan_run(self, n: int, s0: int, a: float, b: float, upper: int, outside: bool):
        """The first affine piece of a decode run of at most ``upper`` steps: (steps, a, b)."""
        # step j (1-based) of a run reads s0 + j*n KV tokens (serve.run_time); the pieces count from 0
        k, a1, b1 = decode_run_pieces(a, b, stream_s=self._stream_s(), prefetch_depth=self.depth,
                                      s0=s0 + n, n=n, steps=upper)[0]
        return k, a1, b1

    def ran(self, steps: int, dur: float, compute_s: float) -> float:
        """A decode run of ``steps`` ended; returns its stall (time beyond compute)."""
        self._iterations(steps)
        return max(0.0, dur - compute_s)

    def summary(self) -> dict[str, Any]:
        return {"weights_placement": ", ".join(f"{t}: {100 * f:.4g}%" for t, f in self.placement.fractions),
                "weights_hbm_bytes": int(self.plan.hbm_bytes(self.depth)),
                "weights_streamed_bytes": int(self.streamed_bytes),
                "weights_stall_s": float(self.stall_s), **self.link_summary()}


class ExpertStage(_Stage):
    """An MoE model's experts in a lower tier, an HBM cache per layer, routed per token."""

    steps_each = True

    def __init__(self, links: LinkSet, setup, *, cost, model, keyed_rates, max_batch: int):
        super().__init__(links, keyed_rates)
        self.setup, self.cost = setup, cost
        L, E, k = model.layers, model.moe.experts, model.moe.active_experts
        self.L, self.E = L, E
        with _field("experts.prefetch"):
            pf = create("expert_prefetch", setup.prefetch, layers=L, experts=E,
                        budget=min(E, k * max_batch))
        with _field("experts.cache.eviction"):
            if L and hasattr(create("eviction", setup.eviction, capacity=1), "prepare"):
                raise ConfigError(f"{label(setup.eviction)!r} needs the future accesses; the serving "
                                  "engine runs online policies (benchmarks/serving_beyond_hbm.py scores "
                                  "Belady on the engine's own access stream)")
            self.cache = ExpertCache(slots=setup.slots, eviction=setup.eviction, prefetch=pf,
                                     fetch_s=self._fetch_s(1.0))
        self.routing = setup.routing
        self._fetched = 0

    def _fetch_s(self, share: float) -> float:
        s = self.setup
        return s.link_latency_s + s.expert_bytes / (s.link_bytes_per_s * share)

    def _need(self, rids: np.ndarray, pos: np.ndarray) -> list[list[int]]:
        """Per layer, the sorted distinct experts of the tokens at these (request, position)s."""
        rows = (rids * ROUTING_STRIDE + pos) % self.routing.shape[0]
        r = self.routing[rows]                               # [tokens, layers, active]
        touched = np.zeros((self.L, self.E), dtype=bool)
        touched[np.broadcast_to(np.arange(self.L)[None, :, None], r.shape), r] = True
        return [np.flatnonzero(row).tolist() for row in touched]

    def _step(self, start_s: float, compute_s: float, tokens: int, sampling: int, rids, pos) -> float:
        other = self.cost.iter.outside_layers_s(tokens, sampling)
        c_l = (compute_s - other) / self.L
        c = self.cache
        before = c.counts["demand_fetches"] + c.counts["prefetch_fetches"]
        _, stall = c.iteration(self._need(rids, pos), [c_l] * self.L, start_s=start_s, other_s=other,
                               fetch_s=self._fetch_s(self._share_now))
        fetched = c.counts["demand_fetches"] + c.counts["prefetch_fetches"] - before
        self._fetched += fetched
        for i in range(len(self.channels)):     # an expert crosses every channel of its path
            self._bytes_pending[i] += fetched * self.setup.expert_bytes
        return stall

    def iteration(self, now: float, compute_s: float, shape, chunks, decoding) -> tuple[float, float]:
        self._share_now = self.share()
        rids, pos = [], []
        n = len(decoding)
        if n:
            rids.append(np.fromiter((s.request_id for s in decoding.seqs), np.int64, n))
            pos.append(decoding.kv[:n].copy())
        for seq, c in chunks:
            rids.append(np.full(c, seq.request_id, np.int64))
            pos.append(np.arange(seq.computed, seq.computed + c, dtype=np.int64))
        rid, p = np.concatenate(rids), np.concatenate(pos)
        stall = self._step(now, compute_s, shape.prefill_tokens + shape.decode_seqs,
                           shape.decode_seqs + shape.prefill_last_tokens, rid, p)
        return compute_s + stall, stall

    def plan_run(self, n: int, s0: int, a: float, b: float, upper: int, outside: bool):
        """Steps by the compute-only closed form plus the mean stall so far; one step while an
        outside transfer may end (each step's stall is only known once it is stepped)."""
        mean = self.stall_s / self.steps if self.steps else 0.0
        return (1 if outside else upper), a + mean, b

    def step_run(self, now: float, n: int, s0: int, a: float, b: float, k: int, decoding):
        """(seconds, stall) of ``k`` decode steps of the batch, stepped through the cache."""
        self._share_now = self.share()
        rids = np.fromiter((s.request_id for s in decoding.seqs), np.int64, n)
        kv = decoding.kv[:n].copy()
        t, stall = now, 0.0
        for j in range(k):
            comp = a + b * (s0 + n * (j + 1))
            st = self._step(t, comp, n, n, rids, kv + j)
            stall += st
            t += comp + st
        return run_time(a, b, s0, n, k) + stall, stall

    def summary(self) -> dict[str, Any]:
        c = self.cache.counts
        acc = c["accesses"]
        return {"expert_tier": self.setup.tier,
                "expert_cache_experts": int(self.setup.slots.sum()),
                "expert_hit_ratio": c["hits"] / acc if acc else 0.0,
                "expert_fetched_bytes": int(self._fetched * self.setup.expert_bytes),
                "expert_stall_s": float(self.stall_s),
                "expert_stall_s_per_token": float(self.stall_s / self.steps) if self.steps else 0.0,
                "expert_prefetch_fetches": int(c["prefetch_fetches"]),
                "expert_wasted_prefetches": int(c["wasted_prefetches"]), **self.link_summary()}


class _field:
    """``with _field("experts.prefetch"):`` names the field on a ConfigError that lacks one."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, et, e, tb):
        if isinstance(e, ConfigError) and not e.field:
            raise ConfigError(e.problem, field=self.name) from None
        return False
