"""Kernel times for the training step: the one seam between the step model and kernel timing.

The step model asks an object with five methods how long a kernel takes
(``gemm``, ``context_attention``, ``generation_attention``, ``all_reduce``,
``elementwise``; seconds).  ``CalibratedKernels`` (the default) answers from the
serving engine's calibrated per-kernel timer (``memsim.sim.timing.KernelTimer``:
measured tables where the platform has them, the fitted analytic model elsewhere;
see docs/calibration.md), so a training step and a serving iteration on the same
GPU time the same GEMM identically.  ``RooflineKernels`` is the plain roofline
(dense peak x ``efficiency.gemm`` / ``.attention``, HBM bandwidth x
``efficiency.memory``), kept as a reference for closed-form checks and for
``timing: roofline`` comparisons.
"""
from __future__ import annotations

from typing import Protocol

from memsim.ground.errors import ConfigError
from memsim.sim.timing import KernelTimer

__all__ = ["KernelTimes", "CalibratedKernels", "RooflineKernels", "ATTENTION_BACKWARD_FACTOR"]

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


def _training_hbm(platform, dtype: str):
    """The accelerator memory tier of ``platform``, after checking it can train in ``dtype``."""
    peaks = platform.compute.peak_flops
    if dtype not in peaks:
        raise ConfigError(f"platform {platform.name!r} has no peak FLOP/s for dtype {dtype!r}; "
                          f"known: {', '.join(sorted(peaks))}", field="precision.compute")
    hbm = platform.tier_of_kind("hbm")
    if hbm is None:
        raise ConfigError(f"platform {platform.name!r} has no hbm tier; training needs "
                          "accelerator memory", field="platform")
    return hbm


def _collective_link(link, gpus: int, nbytes: float):
    """The GPU-to-GPU link a collective of ``gpus`` uses (None: nothing to move)."""
    if gpus <= 1 or nbytes <= 0:
        return None
    if link is None:
        raise ConfigError("a collective over several GPUs needs a GPU-to-GPU link "
                          "(between [hbm, hbm]) in the platform", field="parallelism")
    return link


class RooflineKernels:
    """The roofline: each kernel takes max(FLOPs / achieved peak, bytes / achieved HBM bandwidth).

    ``dtype`` picks the peak (``compute.peak_flops``) and the element size of the
    operands (2 bytes for bf16/fp16).
    """

    def __init__(self, platform, *, dtype: str = "bf16", dtype_bytes: int = 2):
        comp = platform.compute
        hbm = _training_hbm(platform, dtype)
        eff = comp.efficiency
        self.dtype_bytes = dtype_bytes
        self.gemm_flop_per_s = comp.peak_flops[dtype] * eff.gemm
        self.attn_flop_per_s = comp.peak_flops[dtype] * eff.attention
        self.mem_bytes_per_s = hbm.read_bw * eff.memory
        self.gpu_link = platform.link_between(hbm.name, hbm.name)

    source = "roofline"

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
        link = _collective_link(self.gpu_link, gpus, nbytes)
        if link is None:
            return 0.0
        return 2.0 * (gpus - 1) / gpus * nbytes / link.bandwidth + 2 * (gpus - 1) * link.latency

    def elementwise(self, nbytes: float) -> float:
        return max(0.0, nbytes) / self.mem_bytes_per_s


#: compute dtypes whose GEMMs the measured tables describe (they hold bf16 kernels; fp16
#: runs the same kernels at the same speed).  Other dtypes use the analytic model only,
#: with the platform's peak for that dtype.
_TABLE_DTYPES = ("bf16", "fp16")


class CalibratedKernels:
    """The training step's kernel times from the calibrated serving timer.

    Scalars in, seconds out.  The forward attention of a training micro-batch is a
    prefill call (``batch`` sequences of ``seq_len`` fresh tokens, causal); its
    backward is ``ATTENTION_BACKWARD_FACTOR`` times that (the tables hold forward
    kernels only).  GEMM shapes beyond the tables (a training micro-batch's m is
    often 10^4 to 10^6 tokens) fall back to the analytic model and are counted in
    ``fallbacks`` like the engine's.
    """

    def __init__(self, platform, *, dtype: str = "bf16", dtype_bytes: int = 2):
        hbm = _training_hbm(platform, dtype)
        self.gpu_link = platform.link_between(hbm.name, hbm.name)
        self.dtype_bytes = dtype_bytes
        self.timer = KernelTimer(platform, dtype=dtype, use_tables=dtype in _TABLE_DTYPES)

    @property
    def source(self) -> str:
        """Where the kernel times come from, in words (the run summary's ``kernels``)."""
        return f"calibrated: {self.timer.source}"

    def __repr__(self) -> str:
        return f"CalibratedKernels({self.timer.source})"

    @property
    def fallbacks(self):
        return self.timer.fallbacks

    def gemm(self, m: int, n: int, k: int) -> float:
        return float(self.timer.gemm(m, int(n), int(k))[0])

    def context_attention(self, batch: int, seq_len: int, heads: int, kv_heads: int,
                          head_dim: int, *, causal: bool = True) -> float:
        t = float(self.timer.context_attention(batch, seq_len, heads, kv_heads, head_dim)[0])
        # full (bidirectional) attention does twice the causal score work
        return t if causal else 2.0 * t

    def generation_attention(self, batch: int, kv_len: int, heads: int, kv_heads: int,
                             head_dim: int) -> float:
        return float(self.timer.generation_attention(batch, kv_len, heads, kv_heads, head_dim)[0])

    def all_reduce(self, nbytes: float, gpus: int) -> float:
        if _collective_link(self.gpu_link, gpus, nbytes) is None:
            return 0.0
        return float(self.timer.all_reduce(nbytes, int(gpus), elem_bytes=self.dtype_bytes)[0])

    def elementwise(self, nbytes: float) -> float:
        return float(self.timer.elementwise(max(0.0, nbytes))[0]) if nbytes > 0 else 0.0
