"""The engine's cost model: iteration times of one model on one platform with tensor parallelism.

An iteration is the list of kernels ``iteration.IterationTimer`` builds, each timed by
``timer.KernelTimer`` (measured tables, then the analytic model).  A decode-only iteration
of n sequences reading S KV tokens takes exactly ``a(n) + b(n) * S`` (``decode_affine``),
which is what lets the engine advance runs of decode iterations in closed form.
"""
from __future__ import annotations

import math

import numpy as np

from memsim.ground.errors import ConfigError, SimulationError

from .iteration import IterationTimer
from .shape import IterationShape
from .timer import KV_DTYPES, KernelTimer

__all__ = ["CostModel", "IterationShape"]


class CostModel:
    """Iteration times for one model on one platform with tensor parallelism ``tp``."""

    #: fraction of a sequence's resident KV a decode step reads from HBM (compression may lower it)
    hbm_read_fraction = 1.0
    #: seconds of host-link transfer per context token per decode step (selective fetch)
    fetch_s_per_token = 0.0

    def __init__(self, platform, model, *, tp: int = 1, dtype: str | None = None, use_tables: bool = True):
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
        self.tp_link = None
        if tp > 1:
            link = platform.link_between(hbm.name, hbm.name)
            if link is None:
                raise ConfigError(f"tp={tp} needs a GPU-to-GPU link (between [{hbm.name}, {hbm.name}]) "
                                  f"in platform {platform.name!r}", field="parallelism.tp")
            self.tp_link = link
        m = model
        only = {"num_heads": m.heads // tp, "num_key_value_heads": max(1, m.kv_heads // tp), "head_dim": m.head_dim,
                "kv_cache_dtype": KV_DTYPES.get(m.kv_dtype or m.dtype, "bfloat16"),
                "window_size": int(m.sliding_window or 0)}
        if tp == 1:
            only["num_gpus"] = 0            # no all-reduces: load none
        self.timer = KernelTimer(platform, dtype=self.dtype, use_tables=use_tables, only=only)
        self.iter = IterationTimer(self.timer, model, tp=tp, kv_dtype=model.kv_dtype or model.dtype)
        self.kv_bytes_per_token = float(model.kv_bytes_per_token)
        self._kv_bytes_model = float(model.kv_bytes_per_token)
        # ring all-reduce of the activations, twice per layer: bytes each GPU sends per token
        per_token = model.hidden * model.dtype_bytes
        self.allreduce_bytes_per_token = (2 * model.layers * 2.0 * (tp - 1) / tp * per_token) if tp > 1 else 0.0
        p, dev = self.timer.params, self.timer.dev
        # effective rates of large kernels (for callers that want a roofline figure)
        self.gemm_flop_per_s = dev.peak_flop_per_s * tp * p["gemm_compute_eff"]
        self.attn_flop_per_s = dev.peak_flop_per_s * tp * p["attn_compute_eff"]
        self.mem_bytes_per_s = dev.hbm_bytes_per_s * tp * p["mem_eff"]
        self._read_scale = 1.0
        self._b: dict[int, float] = {}      # seconds per decode KV token by batch size (memo)
        self._lin_rate: float | None = None

    @property
    def source(self) -> str:
        return self.timer.source

    def timing_summary(self) -> dict:
        """Run-summary entries: the kernel source, and how many kernel shapes were timed in all
        and how many fell outside the tables (timed analytically): distinct GEMM, decode and
        elementwise shapes (they are memoised), every prefill chunk."""
        fb = dict(self.timer.fallbacks)
        fb["context_attention"] = fb.get("context_attention", 0) + self.iter.chunks_analytic
        out = {"kernel_timing": self.source,
               "kernel_shapes_timed": int(sum(self.timer.lookups.values()) + self.iter.chunks_timed),
               "kernel_shapes_analytic": int(sum(fb.values()))}
        for kind, n in sorted(fb.items()):
            if n:
                out[f"kernel_shapes_analytic_{kind}"] = int(n)
        return out

    # ---- iterations -------------------------------------------------------------------
    def time(self, shape: IterationShape) -> float:
        """Seconds for one iteration of the given shape."""
        t = self.iter.base_s(shape)
        n = shape.decode_seqs
        if n:
            b = self._b.get(n)
            t += (b if b is not None else self._decode_b(n)) * shape.decode_kv_tokens
        return t

    def _decode_b(self, n: int) -> float:
        b = max(self.iter.decode_ab(n)[1] * self._read_scale, self.fetch_s_per_token)
        self._b[n] = b
        return b

    def decode_affine(self, n: int) -> tuple[float, float]:
        """(a, b) such that a decode-only iteration of n sequences reading S KV tokens takes a + b*S."""
        return self.iter.base_s(IterationShape(decode_seqs=n)), self._decode_b(n)

    def decode_attn_coeff(self, n: int = 1) -> float:
        """Seconds per KV token of decode attention for n sequences (HBM reads and, with
        selective fetch, PCIe fetches scale with it; the slower bounds the step)."""
        return self._decode_b(n)

    def apply_compression(self, policy, model, fetch_link_bytes_per_s: float | None) -> None:
        """Let a compression policy set stored bytes/token, HBM read fraction and PCIe fetches."""
        self.kv_bytes_per_token = float(policy.kv_bytes_per_token(model))
        self.hbm_read_fraction = float(getattr(policy, "hbm_read_fraction", lambda m: 1.0)(model))
        self._read_scale = self.kv_bytes_per_token / self._kv_bytes_model * self.hbm_read_fraction
        self._b.clear()
        fetch = float(getattr(policy, "fetch_bytes_per_token", lambda m: 0.0)(model))
        if fetch > 0:
            if not fetch_link_bytes_per_s:
                raise ConfigError("selective fetch needs a link between hbm and dram in the platform",
                                  field="kv.compression")
            self.fetch_s_per_token = fetch / fetch_link_bytes_per_s
            self._b.clear()

    # ---- prefill cost for load-or-recompute decisions ------------------------------------
    def _linear_s_per_token(self) -> float:
        """Marginal seconds per prefill token of everything but attention, in a large batch."""
        if self._lin_rate is None:
            self._lin_rate = (self.iter.tokens_s(8192) - self.iter.tokens_s(4096)) / 4096.0
        return self._lin_rate

    def prefill_compute_s(self, context: int, tokens: int) -> float:
        """Marginal seconds to prefill ``tokens`` new tokens after ``context`` cached ones
        inside a batch (weights are read anyway, so only the per-token work counts)."""
        if tokens <= 0:
            return 0.0
        return float(self.prefill_compute_s_array(context, [tokens])[0])

    def prefill_compute_s_array(self, context: int, tokens):
        """``prefill_compute_s`` over an array of token counts (NumPy)."""
        tokens = np.asarray(tokens, dtype=float)
        attn = self.iter.layers * self.iter.chunk_s_array(context, np.maximum(tokens, 1))
        return np.where(tokens > 0, self._linear_s_per_token() * tokens + attn, 0.0)

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
