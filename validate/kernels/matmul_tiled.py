"""Tiled matrix multiply ``C = A @ B`` with square ``tile`` x ``tile`` blocks.

For each (i, j, k) tile triple the kernel multiplies an A tile by a B tile into a C
tile; with a tile that fits in L1 each element of A and B is fetched from the
level holding the matrices ``n / tile`` times: ``2 n^3 / tile`` loads in all.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["matmul_tiled", "matmul_tiled_ref", "matmul_loads"]


def _matmul_tiled(a, b, c, tile):
    n, kk = a.shape
    m = b.shape[1]
    for i0 in range(0, n, tile):
        i1 = min(i0 + tile, n)
        for j0 in range(0, m, tile):
            j1 = min(j0 + tile, m)
            for k0 in range(0, kk, tile):
                k1 = min(k0 + tile, kk)
                for i in range(i0, i1):
                    for k in range(k0, k1):
                        aik = a[i, k]
                        for j in range(j0, j1):
                            c[i, j] += aik * b[k, j]
    return c


def matmul_tiled_ref(a: np.ndarray, b: np.ndarray, tile: int) -> np.ndarray:
    """Same result with NumPy (``tile`` only checked, the product does not depend on it)."""
    if tile < 1:
        raise ValueError(f"tile={tile} must be >= 1")
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(a.dtype)


def matmul_loads(n: int, tile: int) -> int:
    """Elements of A and B the tiled loop reads from memory for n x n matrices."""
    t = -(-n // tile)
    return 2 * n * n * t


# NOTE: fastmath lets LLVM vectorise the j loop with FMAs, for speed.
_compiled = njit(cache=True, fastmath=True)(_matmul_tiled)


def matmul_tiled(a: np.ndarray, b: np.ndarray, tile: int, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` by the compiled tiled loop (``out`` is zeroed and reused if given)."""
    c = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype) if out is None else out
    if out is not None:
        c[:] = 0
    return _compiled(a, b, c, tile)
