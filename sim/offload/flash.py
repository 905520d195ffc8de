"""Weight streaming from flash: per-token latency when FFN weights live on flash.

Attention, embeddings and the KV cache stay in DRAM; the feed-forward weights are on
the flash tier and a ``flash`` policy decides, token by token, which neurons to
read (in contiguous runs, through the SSD cost model) and which to keep in DRAM.
A token costs flash I/O + compute (roofline) + DRAM cache management, added up.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from memsim.ground.errors import ConfigError, SimulationError
from memsim.sim.ssd import SSD

from ._reads import plan_reads

__all__ = ["FlashRun", "simulate_flash", "ffn_geometry", "compute_dtype"]

DEFAULT_MAX_READ_BYTES = 4 * 2**20
"""Reads longer than this are split (the flash curve is flat well before it)."""


def ffn_geometry(model) -> dict:
    """Byte sizes the flash simulator needs from a catalogue model."""
    if getattr(model, "moe", None):
        raise ConfigError(f"model {model.name}: mixture-of-experts FFNs are not modelled by the "
                          "neuron-level flash simulator; pick a dense model", field="model")
    matrices = 3 if getattr(model, "gated_ffn", False) else 2
    neuron_bytes = matrices * model.hidden * model.dtype_bytes
    ffn_bytes = model.layers * model.ffn * neuron_bytes
    if ffn_bytes >= model.weight_bytes:
        raise ConfigError(f"model {getattr(model, 'name', '?')}: FFN bytes {ffn_bytes} "
                          f">= weight_bytes {model.weight_bytes}", field="model")
    return {"matrices": matrices, "neuron_bytes": neuron_bytes, "ffn_bytes": ffn_bytes,
            "resident_weight_bytes": model.weight_bytes - ffn_bytes,
            "unit_bytes": model.hidden * model.dtype_bytes}


def compute_dtype(platform, model) -> str:
    """The peak_flops key for the model's dtype (bf16 before fp16 for 2-byte weights)."""
    named = getattr(model, "dtype", None)
    prefs = {4: ("fp32", "tf32"), 2: ("bf16", "fp16"), 1: ("int8", "fp8")}
    cands = ((named,) if isinstance(named, str) else ()) + prefs.get(model.dtype_bytes, ())
    for c in cands:
        if c in platform.compute.peak_flops:
            return c
    raise ConfigError(f"platform {platform.name} has no peak_flops for {model.dtype_bytes}-byte "
                      f"weights; known: {', '.join(platform.compute.peak_flops)}",
                      field="compute.peak_flops")


@dataclass
class FlashRun:
    """One policy's run: a row per token and a summary of the steady state."""

    policy: str
    tokens: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _tier(platform, name, kinds, what):
    if name is not None:
        return platform.tier(name)
    for k in kinds:
        t = platform.tier_of_kind(k)
        if t is not None:
            return t
    raise ConfigError(f"platform {platform.name} has no {what} tier (kind {' or '.join(kinds)})",
                      field="tiers")


def simulate_flash(*, platform, model, policy, activations: Iterable[np.ndarray],
                   dram_budget_bytes: int | None = None, queue_depth: int | None = None,
                   max_read_bytes: int = DEFAULT_MAX_READ_BYTES, prompt_tokens: int = 0,
                   kv_reserve_tokens: int | None = None, warmup_tokens: int = 5, flash_tier: str | None = None,
                   memory_tier: str | None = None) -> FlashRun:
    """Run ``policy`` (a ``flash`` policy instance) over per-token ``activations``.

    ``dram_budget_bytes`` is the memory the model may use (default: the memory
    tier's capacity); ``queue_depth`` the reads in flight (default: the flash
    tier's parallelism).  DRAM for the KV cache is reserved for
    ``kv_reserve_tokens`` tokens (default: ``prompt_tokens`` plus the trace's
    length when it has one, else plus 256).  Steady-state means in ``summary`` skip the first
    ``warmup_tokens`` tokens (all tokens if there are not more than that).
    """
    geo = ffn_geometry(model)
    flash = _tier(platform, flash_tier, ("flash", "ssd"), "flash")
    mem = _tier(platform, memory_tier, ("dram",), "DRAM")
    budget = mem.capacity_total if dram_budget_bytes is None else int(dram_budget_bytes)
    if budget <= 0:
        raise ConfigError(f"dram_budget_bytes={budget} must be > 0", field="dram_budget_bytes")
    ssd = SSD(flash, queue_depth=queue_depth)
    links = platform.path(flash.name, mem.name) if platform.links else []
    link_bw = min((lk.bandwidth * lk.count for lk in links), default=float("inf"))
    eff = platform.compute.efficiency
    mem_bw = mem.read_bw_total * eff.memory
    dtype = compute_dtype(platform, model)
    flop_rate = platform.compute.peak(dtype) * eff.gemm      # one device

    acts = iter(activations)
    first = next(acts, None)
    if first is None:
        raise ConfigError("the activation trace has no tokens", field="activations")
    layers, neurons = model.layers, model.ffn
    if first.shape != (layers, neurons):
        raise ConfigError(f"activations have shape {first.shape}; the model needs "
                          f"({layers}, {neurons})", field="activations")
    nb, resident_w = geo["neuron_bytes"], geo["resident_weight_bytes"]
    kv_per_token = int(getattr(model, "kv_bytes_per_token", 0))
    if kv_reserve_tokens is None:
        kv_reserve_tokens = prompt_tokens + (len(activations) if hasattr(activations, "__len__")
                                             else 256)
    ffn_budget = budget - resident_w - kv_per_token * int(kv_reserve_tokens)
    if ffn_budget <= 0:
        raise SimulationError(f"{getattr(model, 'name', 'model')}: the DRAM-resident weights "
                              f"({resident_w} B) and KV cache do not fit in the {budget} B budget")
    initial = policy.start(layers=layers, neurons=neurons, neuron_bytes=nb,
                           ffn_budget_bytes=ffn_budget)
    if policy.bundled:
        unit, per_run = nb, 1
    else:
        unit, per_run = geo["unit_bytes"], geo["matrices"]
    per_neuron_params = geo["matrices"] * model.hidden

    rows = []
    prev_keep = np.asarray(initial, dtype=bool)
    assert prev_keep.shape == (layers, neurons), f"{policy!r}: start() returned {prev_keep.shape}"
    token = 0
    active = first
    while active is not None:
        load, keep = policy.step(active)
        have = prev_keep | load
        needed = np.ones_like(active) if policy.dense_compute else active
        assert not (needed & ~have).any(), f"{policy!r}: token {token} computes unloaded neurons"
        assert not (keep & ~have).any(), f"{policy!r}: token {token} keeps neurons it never had"
        lay, size, count = plan_reads(load, unit_bytes=unit, reads_per_run=per_run,
                                      max_read_bytes=max_read_bytes)
        io_s = 0.0
        flash_bytes = 0
        for layer in range(layers):
            sel = lay == layer
            if not sel.any():
                continue
            s, c = size[sel], count[sel]
            layer_bytes = int(sum(ssd.rounded_bytes(int(x)) * int(k) for x, k in zip(s, c)))
            io_s += max(ssd.mixed_batch_time_s(s, c), layer_bytes / link_bw)
            flash_bytes += layer_bytes
        computed = int(needed.sum())
        context = prompt_tokens + token + 1
        kv_bytes = kv_per_token * context
        read_bytes = resident_w + computed * nb + kv_bytes
        flops = 2.0 * (resident_w / model.dtype_bytes + computed * per_neuron_params)
        compute_s = max(flops / flop_rate, read_bytes / mem_bw)
        evicted = int((prev_keep & ~keep).sum())
        mgmt_s = 2.0 * evicted * nb / mem_bw          # compaction: read + write each moved neuron
        transient = int((load & ~keep).sum(axis=1).max())   # a layer's read-and-drop buffer
        kept = int(keep.sum())
        rows.append({
            "token": token, "active_neurons": int(active.sum()), "loaded_neurons": int(load.sum()),
            "evicted_neurons": evicted, "resident_neurons": kept, "flash_reads": int(count.sum()),
            "flash_bytes": flash_bytes, "io_s": io_s, "compute_s": compute_s, "mgmt_s": mgmt_s,
            "latency_s": io_s + compute_s + mgmt_s,
            "flash_bytes_per_s": flash_bytes / io_s if io_s > 0 else 0.0,
            "dram_bytes": resident_w + kv_bytes + (kept + transient) * nb,
        })
        prev_keep = keep
        token += 1
        active = next(acts, None)
        if active is not None and active.shape != (layers, neurons):
            raise ConfigError(f"token {token}: activations have shape {active.shape}",
                              field="activations")
    policy.check()
    df = pd.DataFrame(rows)
    return FlashRun(policy=policy.name, tokens=df,
                    summary=_summary(df, policy, platform, model, flash, mem, ssd, budget,
                                     geo, warmup_tokens))


def _summary(df, policy, platform, model, flash, mem, ssd, budget, geo, warmup) -> dict:
    steady = df[df.token >= warmup] if len(df) > warmup else df
    io = float(steady.io_s.sum())
    reads = int(steady.flash_reads.sum())
    return {
        "policy": policy.name, "policy_repr": repr(policy),
        "platform": platform.name, "model": getattr(model, "name", "?"),
        "flash_tier": flash.name, "memory_tier": mem.name, "queue_depth": ssd.queue_depth,
        "tokens": int(len(df)), "steady_tokens": int(len(steady)),
        "weight_bytes": int(model.weight_bytes), "ffn_bytes": int(geo["ffn_bytes"]),
        "dram_budget_bytes": int(budget),
        "weights_over_dram": model.weight_bytes / budget,
        "latency_s": float(steady.latency_s.mean()),
        "io_s": float(steady.io_s.mean()), "compute_s": float(steady.compute_s.mean()),
        "mgmt_s": float(steady.mgmt_s.mean()),
        "flash_bytes_per_token": float(steady.flash_bytes.mean()),
        "flash_reads_per_token": float(steady.flash_reads.mean()),
        "mean_read_bytes": float(steady.flash_bytes.sum() / reads) if reads else 0.0,
        "flash_bytes_per_s": float(steady.flash_bytes.sum() / io) if io > 0 else 0.0,
        "active_fraction": float(steady.active_neurons.mean() / (model.layers * model.ffn)),
        "loaded_fraction": float(steady.loaded_neurons.mean() / (model.layers * model.ffn)),
        "resident_fraction": float(steady.resident_neurons.mean() / (model.layers * model.ffn)),
        "peak_dram_bytes": int(df.dram_bytes.max()),
        "fits": bool(df.dram_bytes.max() <= budget),
    }
