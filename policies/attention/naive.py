"""Standard attention: S = Q K^T and P = softmax(S) materialised in HBM.

Three kernels: tiled scores (Q block resident, K streamed), a row softmax (one pass
when a whole row of n fits, else a statistics pass and a normalising pass) and
tiled P V.  The n x n matrices make the I/O Theta(n^2) whatever M is.
"""
from __future__ import annotations

import math

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, ceil_div, largest_fit, too_small

__all__ = ["Naive"]


@register("attention")
class Naive(TiledAttention):
    """Materialise the scores and probabilities in HBM (standard attention).

    Models: FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness
    (Dao et al., NeurIPS 2022), Algorithm 0 ("standard attention implementation").

    Parameters:
        block_rows: rows of the Q / S / P / O tiles (default: the largest square tile
            b with b^2 + 2 b d <= M).
        block_cols: columns of the S / P tiles = rows of the K / V tiles.

    Differs from the paper: Algorithm 0 loads whole rows and counts Theta(n d + n^2)
    accesses without fixing the tiling; we tile both matmuls (Q block resident
    while K streams; O block resident while P and V stream) and make the softmax
    read S twice when a row of n elements (plus max and sum) does not fit in the
    tile working set W = Br d + Bc d + Br Bc (about M with the default tiles).
    """

    name = "naive"

    def _softmax_fp(self, *, n, block_rows, block_cols):
        one = n + 2                                        # a whole row + its max and sum
        two = block_rows * block_cols + 2 * block_rows     # a tile + per-row max and sum
        return one, two

    def _tiles_fp(self, *, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        return br * d + bc * d + br * bc                   # scores: Q, K, S; P V: P, V, O

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        one, two = self._softmax_fp(n=n, block_rows=block_rows, block_cols=block_cols)
        tile = self._tiles_fp(d=d, block_rows=block_rows, block_cols=block_cols)
        soft = one if self._rows_fit(n, d, block_rows, block_cols) else two
        return max(tile, soft)

    def _rows_fit(self, n, d, br, bc):
        # The softmax kernel gets the matmul kernels' fast-memory budget (their tile
        # working set W): one pass when a row and its two statistics fit in W.
        return n + 2 <= self._tiles_fp(d=d, block_rows=br, block_cols=bc)

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        m = sram_elems
        if block_rows is not None and block_cols is not None:
            return block_rows, block_cols
        if block_rows is not None or block_cols is not None:
            b = block_rows if block_rows is not None else block_cols
            other = largest_fit(n, lambda c: self._tiles_fp(d=d, block_rows=b, block_cols=c) <= m)
            other = max(other, 1)
            return (b, other) if block_rows is not None else (other, b)
        b = max(int(math.isqrt(d * d + m)) - d, 0)         # b^2 + 2 b d <= M
        b = largest_fit(min(max(b + 1, 1), n), lambda c: self._tiles_fp(
            d=d, block_rows=c, block_cols=c) <= m)
        if b == 0:
            raise too_small(self.name, m, self._tiles_fp(d=d, block_rows=1, block_cols=1),
                            "one row of Q and K and one score")
        return b, b

    def counts(self, *, n, d, block_rows, block_cols):
        tr = ceil_div(n, block_rows)
        sm_reads = n * n * (1 if self._rows_fit(n, d, block_rows, block_cols) else 2)
        reads = (n * d + tr * n * d) + sm_reads + (n * n + tr * n * d)   # Q,K | S | P,V
        writes = n * n + n * n + n * d                                  # S | P | O
        return reads, writes, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return 2 * n * n                                   # S and P

    def walk(self, mem, *, n, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        mem.phase("scores")                                # S = Q K^T
        mem.alloc("Q", br * d)
        mem.alloc("K", bc * d)
        mem.alloc("S", br * bc)
        for ri in blocks(n, br):
            mem.unit()
            mem.load("Q", ri * d)
            for cj in blocks(n, bc):
                mem.load("K", cj * d)
                mem.compute(2 * ri * cj * d)
                mem.store("S", ri * cj)
        for buf in ("Q", "K", "S"):
            mem.free(buf)

        mem.phase("softmax")                               # P = softmax(S), row-wise
        if self._rows_fit(n, d, br, bc):
            mem.alloc("row", n)
            mem.alloc("stats", 2)
            for _ in range(n):
                mem.unit()
                mem.load("row", n)
                mem.compute(0)
                mem.store("row", n)
            mem.free("row")
        else:
            mem.alloc("tile", br * bc)
            mem.alloc("stats", 2 * br)
            for ri in blocks(n, br):
                mem.unit()
                for cj in blocks(n, bc):                   # pass 1: running max and sum
                    mem.load("tile", ri * cj)
                    mem.compute(0)
                for cj in blocks(n, bc):                   # pass 2: normalise and write P
                    mem.load("tile", ri * cj)
                    mem.compute(0)
                    mem.store("tile", ri * cj)
            mem.free("tile")
        mem.free("stats")

        mem.phase("pv")                                    # O = P V
        mem.alloc("P", br * bc)
        mem.alloc("V", bc * d)
        mem.alloc("O", br * d)
        for ri in blocks(n, br):
            mem.unit()
            for cj in blocks(n, bc):
                mem.load("P", ri * cj)
                mem.load("V", cj * d)
                mem.compute(2 * ri * cj * d)
            mem.store("O", ri * d)
