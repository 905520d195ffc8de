"""Lower bounds on the elements an attention forward pass must move between SRAM and HBM.

The I/O-complexity paper proves Theta bounds without explicit constants; we use
constant 1, take the maximum with the trivial bound (read Q, K, V, write O), and
are continuous at M = d^2, where both forms equal n^2.
"""
from __future__ import annotations

import math

from memsim.ground.errors import check_positive

__all__ = ["lower_bound", "trivial_bound"]


def trivial_bound(n: int, d: int, *, decode: bool = False) -> int:
    """Elements of the inputs and output: 4 n d (self-attention) or 2 n d + 2 d (one query)."""
    return 2 * n * d + 2 * d if decode else 4 * n * d


def lower_bound(n: int, d: int, sram_elems: int, *, heads: int = 1, batch: int = 1,
                decode: bool = False) -> float:
    """Lower bound in elements for ``batch * heads`` attention problems.

    Self-attention (n queries, n keys, head dim d, fast memory M = ``sram_elems``):

        M >= d^2:  max(4 n d, n^2 d^2 / M)
        M <  d^2:  max(4 n d, n^2 d / sqrt(M))

    the two tight bounds of "The I/O Complexity of Attention, or How Optimal is
    Flash Attention?" (Saha and Ye, ICML 2024; arXiv:2402.07443): Omega(n^2 d^2 / M)
    for M >= d^2 (matched by FlashAttention) and Omega(n^2 d / sqrt(M)) for
    M < d^2 (matched by its small-cache algorithm), with their hidden constants
    set to 1.  Decode (one query against n cached keys) has only the trivial bound.
    """
    for name, v in (("n", n), ("d", d), ("sram_elems", sram_elems), ("heads", heads),
                    ("batch", batch)):
        check_positive(name, v)
    trivial = trivial_bound(n, d, decode=decode)
    if decode:
        per_head = float(trivial)
    elif sram_elems >= d * d:
        per_head = max(float(trivial), n * n * d * d / sram_elems)
    else:
        per_head = max(float(trivial), n * n * d / math.sqrt(sram_elems))
    return per_head * heads * batch
