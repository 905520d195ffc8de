"""Predict each validation kernel's time from the calibrated host model.

Roofline with the level's measured overlap: ``max(mem, compute) + (1 - overlap) *
min(mem, compute)``, plus latency terms; attention traffic comes from
``memsim.sim.kernel.attention_io`` (``closed_form_counts`` cross-checks it).
"""
from __future__ import annotations

from dataclasses import dataclass

from memsim.sim.kernel import attention_io

from .calibrate import Calibration
from .levels import fit_level

__all__ = ["Prediction", "Predictor", "attention_counts", "closed_form_counts", "overlapped", "DTYPE_BYTES"]

DTYPE_BYTES = 4
"""The kernels run in float32."""


@dataclass(frozen=True)
class Prediction:
    """A predicted run: its time, the level serving it and the traffic behind it."""

    time_s: float
    level: str
    bytes_moved: float
    flop: float
    elems: int | None = None
    accounting: str = ""


def overlapped(mem_s: float, compute_s: float, overlap: float) -> float:
    """Roofline with partial overlap: ``max + (1 - overlap) * min`` (overlap 1 = max)."""
    return max(mem_s, compute_s) + (1.0 - overlap) * min(mem_s, compute_s)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def attention_counts(algo: str, *, n: int, d: int, heads: int = 1, block_rows: int = 1,
                     block_cols: int = 1, sram_elems: int) -> tuple[int, int, int, str]:
    """(reads, writes, index_bytes, source) in elements for ``flash2`` / ``decode`` /
    ``decode_paged``, counted by the kernel simulator."""
    r = attention_io(algo, n=n, d=d, sram_elems=sram_elems, heads=heads,
                     dtype_bytes=DTYPE_BYTES, block_rows=block_rows, block_cols=block_cols)
    return r.reads, r.writes, r.index_bytes, "memsim.sim.kernel.attention_io"


def closed_form_counts(algo: str, *, n: int, d: int, heads: int = 1, block_rows: int = 1,
                       block_cols: int = 1) -> tuple[int, int, int, str]:
    """The same counts from the textbook closed forms (a cross-check of the simulator)."""
    if algo == "flash2":
        reads = n * d + _ceil_div(n, block_rows) * 2 * n * d
        return reads * heads, (n * d + n) * heads, 0, "closed form"
    if algo == "decode":
        return (d + 2 * n * d) * heads, d * heads, 0, "closed form"
    if algo == "decode_paged":
        pages = _ceil_div(n, block_cols)
        return (d + 2 * pages * block_cols * d) * heads, d * heads, 4 * pages * heads, "closed form"
    raise ValueError(f"no closed form for {algo!r}")


class Predictor:
    """Predictions for one calibrated host (``Calibration`` from ``memsim.validate.calibrate``)."""

    def __init__(self, cal: Calibration):
        self.cal = cal
        self.levels = list(cal.levels)
        self.rates = cal.rates

    def __repr__(self) -> str:
        return f"Predictor(levels={[lv.name for lv in self.levels]})"

    # -- building blocks ---------------------------------------------------------
    def _roofline(self, *, working_set_bytes, bytes_moved, compute_s, flop, elems=None,
                  accounting="closed form", extra_s=0.0) -> Prediction:
        lv = fit_level(working_set_bytes, self.levels)
        mem_s = bytes_moved / lv.read_bytes_per_s
        return Prediction(time_s=overlapped(mem_s, compute_s, lv.overlap) + extra_s, level=lv.name,
                          bytes_moved=bytes_moved, flop=flop, elems=elems, accounting=accounting)

    # -- kernels -------------------------------------------------------------------
    def stream(self, *, size_bytes: int, passes: int) -> Prediction:
        """Sum a working set ``passes`` times: pure bandwidth of the level holding it."""
        return self._roofline(working_set_bytes=size_bytes, bytes_moved=size_bytes * passes,
                              compute_s=0.0, flop=size_bytes // DTYPE_BYTES * passes)

    def chase(self, *, size_bytes: int, hops: int) -> Prediction:
        """Dependent loads: hops x the latency of the level holding the cycle."""
        lv = fit_level(size_bytes, self.levels)
        return Prediction(time_s=hops * lv.latency_s, level=lv.name, bytes_moved=hops * 64.0,
                          flop=0.0, accounting="hops x level latency")

    def matmul(self, *, n: int, tile: int) -> Prediction:
        """Tiled n x n matmul: A and B tiles re-read n/tile times, C tiles read+written;
        compute is the FMA work plus n^3 / tile inner-loop starts (``gemm_loop_s`` each)."""
        t = _ceil_div(n, tile)
        elems = 2 * n * n * t + 2 * n * n * t
        flop = 2 * n ** 3
        loops = n ** 3 / tile
        return self._roofline(working_set_bytes=3 * n * n * DTYPE_BYTES,
                              bytes_moved=elems * DTYPE_BYTES,
                              compute_s=flop / self.rates["gemm_flop_per_s"]
                              + loops * self.rates.get("gemm_loop_s", 0.0), flop=flop)

    def attention_naive(self, *, n: int, d: int) -> Prediction:
        """Three phases, each its own roofline: S = QK^T (S written), softmax (five
        passes over S: max, exp read+write, normalise read+write), O = PV (S read)."""
        rate, exp_s = self.rates["attention_flop_per_s"], self.rates["attention_exp_s"]
        ws = n * n * DTYPE_BYTES + 4 * n * d * DTYPE_BYTES
        s_bytes = n * n * DTYPE_BYTES
        qkv = n * d * DTYPE_BYTES
        phases = [(s_bytes + 2 * qkv, 2 * n * n * d / rate),
                  (5 * s_bytes, n * n * exp_s),
                  (s_bytes + 2 * qkv, 2 * n * n * d / rate)]
        lv = fit_level(ws, self.levels)
        t = sum(overlapped(b / lv.read_bytes_per_s, c, lv.overlap) for b, c in phases)
        return Prediction(time_s=t, level=lv.name, bytes_moved=sum(b for b, _ in phases),
                          flop=4 * n * n * d, accounting="closed form (naive kernel's passes)")

    def attention_tiled(self, *, n: int, d: int, block_rows: int, block_cols: int,
                        sram_elems: int) -> Prediction:
        """FlashAttention-2 tiling: the simulator's tile loads from the level holding
        Q, K, V and O, against 4 n^2 d FLOPs and n^2 exps."""
        reads, writes, _, src = attention_counts("flash2", n=n, d=d, block_rows=block_rows,
                                                 block_cols=block_cols, sram_elems=sram_elems)
        flop = 4 * n * n * d
        compute_s = flop / self.rates["attention_flop_per_s"] + n * n * self.rates["attention_exp_s"]
        return self._roofline(working_set_bytes=4 * n * d * DTYPE_BYTES,
                              bytes_moved=(reads + writes) * DTYPE_BYTES, compute_s=compute_s,
                              flop=flop, elems=reads + writes, accounting=src)

    def _decode_compute_s(self, heads, n, d):
        return 4 * heads * n * d / self.rates["decode_flop_per_s"] + heads * n * self.rates["decode_exp_s"]

    def decode(self, *, heads: int, n: int, d: int) -> Prediction:
        """One query token per head over a contiguous KV cache (K and V read once)."""
        reads, writes, _, src = attention_counts("decode", n=n, d=d, heads=heads,
                                                 sram_elems=4 * d + 16)
        return self._roofline(working_set_bytes=2 * heads * n * d * DTYPE_BYTES,
                              bytes_moved=(reads + writes) * DTYPE_BYTES,
                              compute_s=self._decode_compute_s(heads, n, d),
                              flop=4 * heads * n * d, elems=reads + writes, accounting=src)

    def paged_decode(self, *, heads: int, n: int, d: int, block_tokens: int,
                     pool_bytes: int) -> Prediction:
        """Decode over a paged cache: the contiguous roofline plus one latency of the
        pool's level per block jump (K pass and V pass, per head)."""
        reads, writes, index_bytes, src = attention_counts(
            "decode_paged", n=n, d=d, heads=heads, block_cols=block_tokens,
            sram_elems=2 * d + 2 * block_tokens * d + block_tokens + 3)
        jumps = 2 * heads * _ceil_div(n, block_tokens)
        lat = fit_level(pool_bytes, self.levels).latency_s
        return self._roofline(working_set_bytes=pool_bytes,
                              bytes_moved=(reads + writes) * DTYPE_BYTES + index_bytes,
                              compute_s=self._decode_compute_s(heads, n, d),
                              flop=4 * heads * n * d, elems=reads + writes, accounting=src,
                              extra_s=jumps * lat)
