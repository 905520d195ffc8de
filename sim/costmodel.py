"""How long one batch iteration takes: a roofline over the batch's operators.

An iteration runs every layer once over the batch's tokens.  Its time is the sum
of three operator classes, each the max of its compute time and its memory time:

* GEMMs: 2 FLOP per active weight per token; the weights are read from HBM once.
* prefill attention: causal attention of each prefill chunk over its context.
* decode attention: one query per sequence reading that sequence's whole KV.

plus tensor-parallel all-reduces (two per layer, ring over the GPU link) and a
fixed per-iteration overhead.  For a decode-only batch of n sequences the time
is affine in the batch's total KV tokens S: ``t = a(n) + b * S``, which is what
lets the engine advance runs of decode iterations in closed form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from memsim.ground.errors import ConfigError, SimulationError

__all__ = ["CostModel", "IterationShape"]


@dataclass(frozen=True, slots=True)
class IterationShape:
    """The work of one iteration, in tokens.

    prefill_tokens: new prompt tokens computed this iteration (all chunks).
    prefill_pairs: sum over chunks of (query token, key token) pairs under the causal mask.
    prefill_kv_tokens: KV tokens the prefill chunks read (context + the chunk itself).
    decode_seqs: sequences decoding one token each.
    decode_kv_tokens: KV tokens those sequences read (each its whole context).
    prefill_last_tokens: prefill chunks that end a prompt (they need the LM head).
    """
    prefill_tokens: int = 0
    prefill_pairs: float = 0.0
    prefill_kv_tokens: int = 0
    decode_seqs: int = 0
    decode_kv_tokens: int = 0
    prefill_last_tokens: int = 0


class CostModel:
    """Iteration times for one model on one platform with tensor parallelism ``tp``."""

    def __init__(self, platform, model, *, tp: int = 1, dtype: str | None = None):
        self.platform, self.model, self.tp = platform, model, tp
        comp = platform.compute
        if tp > comp.count:
            raise ConfigError(f"tp={tp} exceeds the platform's {comp.count} accelerators",
                              field="parallelism.tp")
        self.dtype = dtype or model.dtype
        if self.dtype not in comp.peak_flops:
            raise ConfigError(f"platform {platform.name!r} has no peak FLOP/s for dtype {self.dtype!r}; "
                              f"known: {', '.join(sorted(comp.peak_flops))}", field="dtype")
        hbm = platform.tier_of_kind("hbm") or platform.tier_of_kind("dram")
        if hbm is None:
            raise ConfigError(f"platform {platform.name!r} has no hbm or dram tier for weights")
        self.hbm = hbm
        eff = comp.efficiency
        peak = comp.peak_flops[self.dtype] * tp
        bw = hbm.read_bw * tp
        self.gemm_flop_per_s = peak * eff.gemm
        self.attn_flop_per_s = peak * eff.attention
        self.mem_bytes_per_s = bw * eff.memory
        self.overhead_s = comp.iteration_overhead

        m = model
        lm_head_flops = 2.0 * m.hidden * m.vocab
        self.linear_flops_per_token = float(m.linear_flops_per_token)
        self.lm_head_flops = lm_head_flops
        self.attn_flops_per_pair = float(m.attn_flops_per_token_ctx)
        self.kv_bytes_per_token = float(m.kv_bytes_per_token)
        self.dense_bytes = float(getattr(m, "dense_bytes", m.weight_bytes) or m.weight_bytes)
        self.expert_bytes = float(getattr(m, "expert_bytes", 0) or 0)
        moe = getattr(m, "moe", None)
        self.experts = int(moe.experts) if moe else 0
        self.active_experts = int(moe.active_experts) if moe else 0

        # Ring all-reduce of the activations, twice per layer (attention out, MLP out).
        self.allreduce_s_per_token = 0.0
        self.allreduce_fixed_s = 0.0
        self.allreduce_bytes_per_token = 0.0
        self.tp_link = None
        if tp > 1:
            link = platform.link_between(hbm.name, hbm.name)
            if link is None:
                raise ConfigError(f"tp={tp} needs a GPU-to-GPU link (between [{hbm.name}, {hbm.name}]) "
                                  f"in platform {platform.name!r}", field="parallelism.tp")
            self.tp_link = link
            per_token = m.hidden * (m.dtype_bytes if hasattr(m, "dtype_bytes") else 2)
            factor = 2.0 * (tp - 1) / tp
            self.allreduce_bytes_per_token = 2 * m.layers * factor * per_token
            self.allreduce_s_per_token = self.allreduce_bytes_per_token / link.bandwidth
            self.allreduce_fixed_s = 2 * m.layers * 2 * (tp - 1) * link.latency

    # ---- pieces -------------------------------------------------------------
    def weight_bytes_read(self, tokens: int) -> float:
        """Weight bytes one iteration reads: dense weights plus the experts its tokens touch."""
        if not self.experts or tokens <= 0:
            return self.dense_bytes + (self.expert_bytes * self.experts if tokens > 0 else 0.0)
        # Each token picks `active` of `experts` per layer; expected distinct experts touched.
        touched = self.experts * (1.0 - (1.0 - self.active_experts / self.experts) ** tokens)
        return self.dense_bytes + self.expert_bytes * touched

    def time(self, shape: IterationShape) -> float:
        """Seconds for one iteration of the given shape."""
        tokens = shape.prefill_tokens + shape.decode_seqs
        if tokens <= 0:
            return 0.0
        head_tokens = shape.decode_seqs + shape.prefill_last_tokens
        gemm_flops = (self.linear_flops_per_token - self.lm_head_flops) * tokens + self.lm_head_flops * head_tokens
        gemm_bytes = self.weight_bytes_read(tokens) + self.kv_bytes_per_token * tokens  # + KV writes
        t = max(gemm_flops / self.gemm_flop_per_s, gemm_bytes / self.mem_bytes_per_s)
        if shape.prefill_tokens:
            t += max(self.attn_flops_per_pair * shape.prefill_pairs / self.attn_flop_per_s,
                     self.kv_bytes_per_token * shape.prefill_kv_tokens / self.mem_bytes_per_s)
        if shape.decode_seqs:
            t += self.decode_attn_coeff() * shape.decode_kv_tokens
        if self.tp > 1:
            t += self.allreduce_fixed_s + self.allreduce_s_per_token * tokens
        return t + self.overhead_s

    def decode_attn_coeff(self) -> float:
        """Seconds per KV token of decode attention (compute, HBM reads and, with selective
        fetch, PCIe fetches all scale with it; the slowest bounds the step)."""
        return max(self.attn_flops_per_pair / self.attn_flop_per_s,
                   self.kv_bytes_per_token * self.hbm_read_fraction / self.mem_bytes_per_s,
                   self.fetch_s_per_token)

    #: fraction of a sequence's resident KV a decode step reads from HBM (compression may lower it)
    hbm_read_fraction = 1.0
    #: seconds of host-link transfer per context token per decode step (selective fetch)
    fetch_s_per_token = 0.0

    def apply_compression(self, policy, model, fetch_link_bytes_per_s: float | None) -> None:
        """Let a compression policy set stored bytes/token, HBM read fraction and PCIe fetches."""
        self.kv_bytes_per_token = float(policy.kv_bytes_per_token(model))
        self.hbm_read_fraction = float(getattr(policy, "hbm_read_fraction", lambda m: 1.0)(model))
        fetch = float(getattr(policy, "fetch_bytes_per_token", lambda m: 0.0)(model))
        if fetch > 0:
            if not fetch_link_bytes_per_s:
                raise ConfigError("selective fetch needs a link between hbm and dram in the platform",
                                  field="kv.compression")
            self.fetch_s_per_token = fetch / fetch_link_bytes_per_s

    def decode_affine(self, n: int) -> tuple[float, float]:
        """(a, b) such that a decode-only iteration of n sequences reading S KV tokens takes a + b*S."""
        a = self.time(IterationShape(decode_seqs=n, decode_kv_tokens=0))
        return a, self.decode_attn_coeff()

    def prefill_compute_s(self, context: int, tokens: int) -> float:
        """Marginal seconds to prefill ``tokens`` new tokens after ``context`` cached ones
        inside a batch (weights are read anyway, so only FLOPs and KV reads count)."""
        if tokens <= 0:
            return 0.0
        gemm = (self.linear_flops_per_token - self.lm_head_flops) * tokens / self.gemm_flop_per_s
        attn = max(self.attn_flops_per_pair * self.causal_pairs(context, tokens) / self.attn_flop_per_s,
                   self.kv_bytes_per_token * (context + tokens) / self.mem_bytes_per_s)
        return gemm + attn + self.allreduce_s_per_token * tokens

    def prefill_compute_s_array(self, context: int, tokens):
        """``prefill_compute_s`` over an array of token counts (NumPy)."""
        import numpy as np
        tokens = np.asarray(tokens, dtype=float)
        gemm = (self.linear_flops_per_token - self.lm_head_flops) * tokens / self.gemm_flop_per_s
        pairs = tokens * context + tokens * (tokens + 1) / 2.0
        attn = np.maximum(self.attn_flops_per_pair * pairs / self.attn_flop_per_s,
                          self.kv_bytes_per_token * (context + tokens) / self.mem_bytes_per_s)
        return gemm + attn + self.allreduce_s_per_token * tokens

    @staticmethod
    def causal_pairs(context: int, chunk: int) -> float:
        """(query, key) pairs when ``chunk`` new tokens follow ``context`` cached ones, causally."""
        return chunk * context + chunk * (chunk + 1) / 2.0

    def check_fits(self, kv_capacity_bytes: float) -> None:
        if kv_capacity_bytes <= 0:
            raise SimulationError(
                f"model {self.model.name} ({self.model.weight_bytes / 2**30:.1f} GiB of weights) leaves no "
                f"HBM for KV cache on {self.platform.name} with tp={self.tp}; raise parallelism.tp or "
                f"kv.memory_fraction")
        if not math.isfinite(kv_capacity_bytes):
            raise SimulationError("KV capacity is not finite")
