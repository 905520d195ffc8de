"""Kernel times for the training step: the one seam between the step model and kernel timing.

The step model asks an object with five methods how long a kernel takes
(``gemm``, ``context_attention``, ``generation_attention``, ``all_reduce``,
``elementwise``; seconds).  That is the interface of the calibrated per-kernel
model that replaces the roofline in ``sim/costmodel.py``; until it lands,
``RooflineKernels`` answers with the same roofline and the same platform numbers
the serving cost model uses (dense peak x ``efficiency.gemm`` / ``.attention``,
HBM bandwidth x ``efficiency.memory``, ring all-reduce over the GPU link).
"""
from __future__ import annotations

from typing import Protocol

from memsim.ground.errors import ConfigError

__all__ = ["KernelTimes", "RooflineKernels", "ATTENTION_BACKWARD_FACTOR"]

ATTENTION_BACKWARD_FACTOR = 2.5
"""Backward attention time / forward: the FlashAttention-2 backward runs five matmuls
(S = QK^T recomputed, dV, dP, dQ, dK) against the forward's two ("FlashAttention-2:
Faster Attention with Better Parallelism and Work Partitioning", Dao, 2023)."""


class KernelTimes(Protocol):
    """Seconds per kernel on one accelerator (the calibrated timing model's interface).

    ``gemm(m, n, k)``: an (m x k) @ (k x n) matmul.  ``context_attention``: causal
    attention of ``batch`` sequences of ``seq_len`` tokens (prefill / training
    forward).  ``generation_attention``: one query per sequence over ``kv_len`` keys.
    ``all_reduce(nbytes, gpus)``: a ring all-reduce of ``nbytes`` per GPU among
    ``gpus``.  ``elementwise(nbytes)``: a memory-bound kernel streaming ``nbytes``.
    """

    def gemm(self, m: int, n: int, k: int) -> float: ...

    def context_attention(self, batch: int, seq_len: int, heads: int, kv_heads: int,
                          head_dim: int, *, causal: bool = True) -> float: ...

    def generation_attention(self, batch: int, kv_len: int, heads: int, kv_heads: int,
                             head_dim: int) -> float: ...

    def all_reduce(self, nbytes: float, gpus: int) -> float: ...

    def elementwise(self, nbytes: float) -> float: ...


class RooflineKernels:
    """The roofline: each kernel takes max(FLOPs / achieved peak, bytes / achieved HBM bandwidth).

    ``dtype`` picks the peak (``compute.peak_flops``) and the element size of the
    operands (2 bytes for bf16/fp16).
    """

    def __init__(self, platform, *, dtype: str = "bf16", dtype_bytes: int = 2):
        comp = platform.compute
        if dtype not in comp.peak_flops:
            raise ConfigError(f"platform {platform.name!r} has no peak FLOP/s for dtype {dtype!r}; "
                              f"known: {', '.join(sorted(comp.peak_flops))}", field="precision.compute")
        hbm = platform.tier_of_kind("hbm")
        if hbm is None:
            raise ConfigError(f"platform {platform.name!r} has no hbm tier; training needs "
                              "accelerator memory", field="platform")
        eff = comp.efficiency
        self.dtype_bytes = dtype_bytes
        self.gemm_flop_per_s = comp.peak_flops[dtype] * eff.gemm
        self.attn_flop_per_s = comp.peak_flops[dtype] * eff.attention
        self.mem_bytes_per_s = hbm.read_bw * eff.memory
        self.gpu_link = platform.link_between(hbm.name, hbm.name)

    def __repr__(self) -> str:
        return (f"RooflineKernels(gemm={self.gemm_flop_per_s:.4g} FLOP/s, "
                f"attention={self.attn_flop_per_s:.4g} FLOP/s, memory={self.mem_bytes_per_s:.4g} B/s)")

    def gemm(self, m: int, n: int, k: int) -> float:
        flops = 2.0 * m * n * k
        nbytes = self.dtype_bytes * (m * k + k * n + m * n)
        return max(flops / self.gemm_flop_per_s, nbytes / self.mem_bytes_per_s)

    def context_attention(self, batch: int, seq_len: int, heads: int, kv_heads: int,
                          head_dim: int, *, causal: bool = True) -> float:
        pairs = seq_len * (seq_len + 1) / 2.0 if causal else float(seq_len) * seq_len
        flops = 4.0 * batch * heads * head_dim * pairs          # QK^T and PV, 2 FLOP each
        nbytes = self.dtype_bytes * batch * seq_len * head_dim * (2 * heads + 2 * kv_heads)
        return max(flops / self.attn_flop_per_s, nbytes / self.mem_bytes_per_s)

    def generation_attention(self, batch: int, kv_len: int, heads: int, kv_heads: int,
                             head_dim: int) -> float:
        flops = 4.0 * batch * heads * head_dim * kv_len
        nbytes = self.dtype_bytes * batch * kv_len * 2 * kv_heads * head_dim
        return max(flops / self.attn_flop_per_s, nbytes / self.mem_bytes_per_s)

    def all_reduce(self, nbytes: float, gpus: int) -> float:
        """Ring all-reduce: each GPU sends 2(g-1)/g of the buffer in 2(g-1) latency-bound steps."""
        if gpus <= 1 or nbytes <= 0:
            return 0.0
        if self.gpu_link is None:
            raise ConfigError("a collective over several GPUs needs a GPU-to-GPU link "
                              "(between [hbm, hbm]) in the platform", field="parallelism")
        link = self.gpu_link
        return 2.0 * (gpus - 1) / gpus * nbytes / link.bandwidth + 2 * (gpus - 1) * link.latency

    def elementwise(self, nbytes: float) -> float:
        return max(0.0, nbytes) / self.mem_bytes_per_s
