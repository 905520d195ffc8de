"""Decode attention: one new query per sequence against a contiguous KV cache of n tokens.

The kernel streams K and V through fast memory in tiles of ``block_cols`` tokens
with an online softmax, so it reads every cached K/V element exactly once:
d (q) + 2 n d (K, V) reads and d (o) writes per (sequence, head).
"""
from __future__ import annotations

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, largest_fit, too_small

__all__ = ["Decode"]


@register("attention")
class Decode(TiledAttention):
    """Stream a contiguous KV cache once per generated token (decode attention).

    Models: KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache (Liu et al.,
    ICML 2024): "the GPU's SRAM must load the entire KV cache from the main GPU
    memory for each token generated".

    Parameters:
        block_cols: KV tokens per tile (default: the most that fit in M).
        block_rows: ignored (one query row).

    Differs from the paper: KIVI states the cost, not a kernel; this is the
    FlashAttention-style online-softmax loop with one query row.  Each (sequence,
    head) is one unit of work; splitting one sequence's KV over several SMs
    (split-KV / flash-decoding) is not modelled.
    """

    name = "decode"
    decode = True

    def _cap_rows(self, b, n):
        return 1

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        return 2 * d + 2 * block_cols * d + block_cols + 3   # q, o, K/V tile, scores, m, l, m_new

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        if block_cols is not None:
            return 1, block_cols
        bc = largest_fit(n, lambda c: self.footprint_elems(n=n, d=d, block_rows=1,
                                                           block_cols=c) <= sram_elems)
        if bc == 0:
            raise too_small(self.name, sram_elems, self.footprint_elems(
                n=n, d=d, block_rows=1, block_cols=1), "q, o and one K/V token")
        return 1, bc

    def counts(self, *, n, d, block_rows, block_cols):
        return d + 2 * n * d, d, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return 0

    def flops(self, *, n, d):
        return 4 * n * d                                  # q K^T and p V

    def walk(self, mem, *, n, d, block_rows, block_cols):
        bc = block_cols
        mem.phase("decode")
        mem.unit()
        for buf, size in (("q", d), ("o", d), ("K", bc * d), ("V", bc * d), ("s", bc),
                          ("stats", 3)):
            mem.alloc(buf, size)
        mem.load("q", d)
        for cj in blocks(n, bc):
            mem.load("K", cj * d)
            mem.load("V", cj * d)
            mem.compute(4 * cj * d)
        mem.store("o", d)
