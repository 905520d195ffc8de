"""Chunked attention: query chunks, key chunks, partial results combined afterwards.

For each query chunk, every key chunk produces a partial (values, max, sum) that
is written out; a second step reads the partials back and combines them.  The
n x n score matrix never exists; the fast-memory working set is two chunks.
"""
from __future__ import annotations

import math

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, ceil_div, largest_fit, too_small

__all__ = ["Chunked"]


@register("attention")
class Chunked(TiledAttention):
    """Split queries and keys into chunks; keep per-key-chunk partials (memory-efficient attention).

    Models: Self-attention Does Not Need O(n^2) Memory (Rabe and Staats, 2021):
    the practical chunked algorithm (query chunks mapped sequentially, key chunks
    summarised with their own maximum, then combined with rescaling).

    Parameters:
        block_rows: query chunk (paper's code: 1024; default ceil(sqrt(n)), shrunk to fit).
        block_cols: key chunk (paper's code: 4096; default ceil(sqrt(n)), shrunk to fit).

    Differs from the paper: the paper counts device-memory (HBM) overhead, we count
    SRAM <-> HBM traffic; each key chunk's partial (chunk_values, chunk_max,
    chunk_sum) is written to HBM and read back by the combining step, which is how
    the summarise-then-combine structure (a map over key chunks) runs when the
    partials do not fit in fast memory.  The paper's default chunk sizes are used
    only when given as block sizes.
    """

    name = "chunked"

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        q, k = block_rows, block_cols
        scan = q * d + 2 * k * d + q * k + (q * d + 2 * q)   # Q, K, V, scores, one partial
        combine = 2 * (q * d + 2 * q)                         # running result + one partial
        return max(scan, combine)

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        m = sram_elems
        root = math.isqrt(n - 1) + 1 if n > 1 else 1          # ceil(sqrt(n))

        def fits(q, k):
            return self.footprint_elems(n=n, d=d, block_rows=q, block_cols=k) <= m
        if block_rows is None and block_cols is None:
            c = largest_fit(root, lambda x: fits(x, x))
            if c == 0:
                raise too_small(self.name, m, self.footprint_elems(n=n, d=d, block_rows=1,
                                                                    block_cols=1),
                                "one query, one key and one partial")
            return c, c
        if block_rows is None:
            return max(largest_fit(root, lambda x: fits(x, block_cols)), 1), block_cols
        if block_cols is None:
            return block_rows, max(largest_fit(root, lambda x: fits(block_rows, x)), 1)
        return block_rows, block_cols

    def counts(self, *, n, d, block_rows, block_cols):
        tq, tk = ceil_div(n, block_rows), ceil_div(n, block_cols)
        partials = tk * (n * d + 2 * n)                     # every query x every key chunk
        reads = n * d + tq * 2 * n * d + partials           # Q once, K/V per query chunk, partials
        writes = partials + n * d                           # partials, then O
        return reads, writes, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return ceil_div(n, block_cols) * block_rows * (d + 2)   # one query chunk's partials

    def walk(self, mem, *, n, d, block_rows, block_cols):
        q, k = block_rows, block_cols
        mem.phase("chunked")
        for ri in blocks(n, q):
            mem.unit()
            for buf, size in (("Q", q * d), ("K", k * d), ("V", k * d), ("S", q * k),
                              ("part", q * d), ("part_stats", 2 * q)):
                mem.alloc(buf, size)
            mem.load("Q", ri * d)
            for cj in blocks(n, k):                          # summarise each key chunk
                mem.load("K", cj * d)
                mem.load("V", cj * d)
                mem.compute(4 * ri * cj * d)
                mem.store("part", ri * d)
                mem.store("part_stats", 2 * ri)
            for buf in ("Q", "K", "V", "S"):
                mem.free(buf)
            mem.alloc("O", q * d)
            mem.alloc("O_stats", 2 * q)
            for _ in blocks(n, k):                           # combine with rescaling
                mem.load("part", ri * d)
                mem.load("part_stats", 2 * ri)
                mem.compute(0)
            mem.store("O", ri * d)
            for buf in ("part", "part_stats", "O", "O_stats"):
                mem.free(buf)
