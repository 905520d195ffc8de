"""The small-cache algorithm of the I/O-complexity paper: two I/O-optimal matmuls.

For M < d^2 it is cheaper to materialise A = exp(Q K^T) in HBM (n^2 writes) and
compute both products with square sqrt(M)-sized output tiles, as in the classic
blocked matrix product, than to keep re-reading K and V as FlashAttention does:
about 4 n^2 d / sqrt(M) + 2 n^2 element transfers instead of ~12 n^2 d^2 / M.
"""
from __future__ import annotations

import math

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import blocks, ceil_div, largest_fit, too_small

__all__ = ["SmallM"]


@register("attention", aliases=("small-m",))
class SmallM(TiledAttention):
    """Compute exp(Q K^T) and then D^-1 A V with square output tiles (small fast memory).

    Models: The I/O Complexity of Attention, or How Optimal is Flash Attention?
    (Saha and Ye, ICML 2024): the upper bound O(n^2 d / sqrt(M)) for M < d^2.

    Parameters:
        block_rows: b, side of the square b x b tile of A (and rows of an O tile; an
            O tile is b x min(b, d)).  Default: the largest b with b^2 + 3b <= M.
        block_cols: k, the inner-dimension chunk streamed through fast memory with the
            resident tile (d for Q K^T, n for A V).  Default: the largest that fits.

    Differs from the paper: we had only its abstract; the algorithm here is the
    construction the bound implies (blocked matmul with sqrt(M)-sized output
    tiles, A written to HBM between the two products).  Like the paper's
    definition of attention it exponentiates without subtracting a row maximum;
    a numerically safe version needs per-tile maxima (n^2 / b more elements).
    The row sums l are accumulated while A is produced (i-outer, j-inner), so no
    separate softmax pass reads A.
    """

    name = "small_m"

    def _parts(self, *, n, d, block_rows, block_cols):
        b, k = block_rows, block_cols
        bd, k1, k2 = min(b, d), min(k, d), min(k, n)
        return b, bd, k1, k2

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        b, bd, k1, k2 = self._parts(n=n, d=d, block_rows=block_rows, block_cols=block_cols)
        phase1 = b * b + 2 * b * k1 + b                   # A tile, Q and K chunks, row sums
        phase2 = b * bd + k2 * (b + bd) + b               # O tile, A and V chunks, row sums
        return max(phase1, phase2)

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        m = sram_elems

        def fits(b, k):
            return self.footprint_elems(n=n, d=d, block_rows=b, block_cols=k) <= m
        b = block_rows
        if b is None:
            guess = min(int(math.isqrt(m)), n)
            b = largest_fit(guess, lambda x: fits(x, 1 if block_cols is None else block_cols))
            if b == 0:
                raise too_small(self.name, m, self.footprint_elems(n=n, d=d, block_rows=1,
                                                                    block_cols=1),
                                "a 1 x 1 tile and one element of each operand")
        k = block_cols
        if k is None:
            k = max(largest_fit(max(n, d), lambda x: fits(b, x)), 1)
        return b, k

    def counts(self, *, n, d, block_rows, block_cols):
        b, bd, _, _ = self._parts(n=n, d=d, block_rows=block_rows, block_cols=block_cols)
        t, td = ceil_div(n, b), ceil_div(d, bd)
        reads = 2 * t * n * d                              # A = exp(Q K^T): Q and K per tile row/col
        reads += td * n * n + t * n * d + td * n           # O = D^-1 A V: A per O column tile, V, l
        writes = n * n + n + n * d                         # A, row sums l, O
        return reads, writes, 0

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return n * n + n                                   # A and l

    def walk(self, mem, *, n, d, block_rows, block_cols):
        b, bd, k1, k2 = self._parts(n=n, d=d, block_rows=block_rows, block_cols=block_cols)
        mem.phase("exp_scores")                            # A = exp(Q K^T), l = A 1
        for buf, size in (("A", b * b), ("Qc", b * k1), ("Kc", b * k1), ("l", b)):
            mem.alloc(buf, size)
        for ri in blocks(n, b):
            mem.unit()
            for cj in blocks(n, b):
                for kt in blocks(d, k1):
                    mem.load("Qc", ri * kt)
                    mem.load("Kc", cj * kt)
                    mem.compute(2 * ri * cj * kt)
                mem.store("A", ri * cj)
            mem.store("l", ri)
        for buf in ("A", "Qc", "Kc", "l"):
            mem.free(buf)

        mem.phase("av")                                    # O = diag(l)^-1 A V
        for buf, size in (("O", b * bd), ("Ac", b * k2), ("Vc", k2 * bd), ("l", b)):
            mem.alloc(buf, size)
        for ri in blocks(n, b):
            for be in blocks(d, bd):
                mem.unit()
                for kt in blocks(n, k2):
                    mem.load("Ac", ri * kt)
                    mem.load("Vc", kt * be)
                    mem.compute(2 * ri * kt * be)
                mem.load("l", ri)
                mem.compute(0)
                mem.store("O", ri * be)
