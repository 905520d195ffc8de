"""FlashAttention-1: outer loop over K/V blocks, inner loop over Q blocks.

O, l and m live in HBM and are re-read and re-written on every outer step, so
the I/O is about 2 n d (K, V) + Tc (3 n d + 4 n) with Tc = ceil(n / Bc).
"""
from __future__ import annotations

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, ceil_div, largest_fit, too_small

__all__ = ["Flash1"]


@register("attention")
class Flash1(TiledAttention):
    """Tile attention with K/V blocks outside and Q blocks inside (FlashAttention-1).

    Models: FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness
    (Dao et al., NeurIPS 2022), Algorithm 1.

    Parameters:
        block_rows: Br, rows of a Q/O block (paper: min(ceil(M / 4d), d)).
        block_cols: Bc, rows of a K/V block (paper: ceil(M / 4d)).

    Differs from the paper: the paper sizes blocks from the Q, K, V, O blocks alone;
    we also count the Br x Bc score tile and six length-Br statistics vectors
    (m, l, m~, l~, m_new, l_new), and shrink Bc (keeping Br = min(Bc, d)) until that
    whole working set fits in M.  As in the paper's Algorithm 1, O, l and m are
    initialised in HBM (written once) and read back even on the first outer step.
    """

    name = "flash1"

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        return 2 * bc * d + 2 * br * d + br * bc + 6 * br

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        m = sram_elems
        if block_rows is not None and block_cols is not None:
            return block_rows, block_cols
        if block_cols is not None:                       # Br from M given Bc
            br = largest_fit(min(d, n), lambda r: self.footprint_elems(
                n=n, d=d, block_rows=r, block_cols=block_cols) <= m)
            return max(br, 1), block_cols
        if block_rows is not None:                       # Bc from M given Br
            bc = largest_fit(min(ceil_div(m, 4 * d), n), lambda c: self.footprint_elems(
                n=n, d=d, block_rows=block_rows, block_cols=c) <= m)
            return block_rows, max(bc, 1)

        def fp(c):
            return self.footprint_elems(n=n, d=d, block_rows=min(c, d, n), block_cols=c)
        bc = largest_fit(min(ceil_div(m, 4 * d), n), lambda c: fp(c) <= m)
        if bc == 0:
            raise too_small(self.name, m, fp(1), "one row of Q, K, V, O")
        return min(bc, d, n), bc

    def counts(self, *, n, d, block_rows, block_cols):
        tc = ceil_div(n, block_cols)
        reads = 2 * n * d + tc * (2 * n * d + 2 * n)       # K, V once; Q, O, l, m per outer step
        writes = (1 + tc) * (n * d + 2 * n)                # init + O, l, m per outer step
        return reads, writes, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return 2 * n                                       # l and m

    def walk(self, mem, *, n, d, block_rows, block_cols):
        br, bc = block_rows, block_cols
        mem.phase("flash1")
        mem.unit()
        for buf, size in (("K", bc * d), ("V", bc * d), ("Q", br * d), ("O", br * d),
                          ("S", br * bc), ("l", br), ("m", br), ("m~", br), ("l~", br),
                          ("m_new", br), ("l_new", br)):
            mem.alloc(buf, size)
        for ri in blocks(n, br):                           # line 2: O = 0, l = 0, m = -inf in HBM
            mem.store("O", ri * d)
            mem.store("l", ri)
            mem.store("m", ri)
        for cj in blocks(n, bc):                           # line 5: outer loop over K/V blocks
            mem.load("K", cj * d)
            mem.load("V", cj * d)
            for ri in blocks(n, br):                       # line 7: inner loop over Q blocks
                mem.load("Q", ri * d)
                mem.load("O", ri * d)
                mem.load("l", ri)
                mem.load("m", ri)
                mem.compute(4 * ri * cj * d)
                mem.store("O", ri * d)
                mem.store("l", ri)
                mem.store("m", ri)
