"""Dense integer ids: the Numba replay kernels index arrays by key, so keys must be 0..n-1."""
from __future__ import annotations

import numpy as np

__all__ = ["densify"]


def densify(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Map arbitrary int ids to dense 0..n-1 (first-appearance order is not kept)."""
    ids = np.asarray(ids)
    if len(ids) == 0:
        return np.zeros(0, np.int64), 0
    lo, hi = int(ids.min()), int(ids.max())
    if ids.dtype.kind in "iu" and lo >= 0 and hi < max(4 * len(ids), 1 << 16):
        return ids.astype(np.int64, copy=False), hi + 1   # already small and dense enough
    uniq, inv = np.unique(ids, return_inverse=True)
    return inv.astype(np.int64), len(uniq)
