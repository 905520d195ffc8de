"""FlashAttention-2: outer loop over Q blocks, K/V blocks streamed through.

Each Q block's output accumulates in fast memory and is written once, so the I/O
is n d (Q) + Tr * 2 n d (K, V) + n d (O) + n (logsumexp) with Tr = ceil(n / Br).
"""
from __future__ import annotations

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, ceil_div, largest_fit, too_small

__all__ = ["Flash2"]


@register("attention")
class Flash2(TiledAttention):
    """Tile attention with Q blocks outside and K/V blocks inside (FlashAttention-2).

    Models: FlashAttention-2: Faster Attention with Better Parallelism and Work
    Partitioning (Dao, ICLR 2024), Algorithm 1 (forward pass).

    Parameters:
        block_rows: Br, rows of a Q/O block (default ceil(M / 4d), shrunk to fit).
        block_cols: Bc, rows of a K/V block (default min(Br, d)).

    Differs from the paper: the paper picks Br, Bc by hand per GPU; we use the
    FlashAttention-1 rule with the roles swapped (the outer, resident block is the
    big one, since K and V are re-read once per Q block) and shrink Br until Q, O,
    the K/V blocks, the Br x Bc score tile and three statistics vectors (m, l,
    m_new) fit in M.  The logsumexp L (n elements) is written as in the paper.
    """

    name = "flash2"

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        return 2 * br * d + 2 * bc * d + br * bc + 3 * br

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        m = sram_elems
        if block_rows is not None and block_cols is not None:
            return block_rows, block_cols
        if block_rows is not None:
            bc = largest_fit(min(d, n), lambda c: self.footprint_elems(
                n=n, d=d, block_rows=block_rows, block_cols=c) <= m)
            return block_rows, max(bc, 1)
        if block_cols is not None:
            br = largest_fit(min(ceil_div(m, 4 * d), n), lambda r: self.footprint_elems(
                n=n, d=d, block_rows=r, block_cols=block_cols) <= m)
            return max(br, 1), block_cols

        def fp(r):
            return self.footprint_elems(n=n, d=d, block_rows=r, block_cols=min(r, d, n))
        br = largest_fit(min(ceil_div(m, 4 * d), n), lambda r: fp(r) <= m)
        if br == 0:
            raise too_small(self.name, m, fp(1), "one row of Q, K, V, O")
        return br, min(br, d, n)

    def counts(self, *, n, d, block_rows, block_cols):
        tr = ceil_div(n, block_rows)
        reads = n * d + tr * 2 * n * d                     # Q once; K, V once per Q block
        writes = n * d + n                                 # O and logsumexp L, once
        return reads, writes, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return n                                           # logsumexp L

    def walk(self, mem, *, n, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        mem.phase("flash2")
        for buf, size in (("Q", br * d), ("O", br * d), ("K", bc * d), ("V", bc * d),
                          ("S", br * bc), ("m", br), ("l", br), ("m_new", br)):
            mem.alloc(buf, size)
        for ri in blocks(n, br):                           # line 3: outer loop over Q blocks
            mem.unit()
            mem.load("Q", ri * d)
            for cj in blocks(n, bc):                       # line 6: K/V streamed
                mem.load("K", cj * d)
                mem.load("V", cj * d)
                mem.compute(4 * ri * cj * d)
            mem.store("O", ri * d)                         # line 12-14: O_i, L_i written once
            mem.store("l", ri)
