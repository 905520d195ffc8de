"""Benchmark arrays on 2 MiB transparent huge pages where the OS allows it.

4 KiB pages add a page walk to most random loads and crowd some cache sets (an
L2-sized array ran at 90 or 160 GB/s depending on where its pages landed).
"""
from __future__ import annotations

import mmap

import numpy as np

__all__ = ["huge_empty", "huge_zeros", "HUGE_PAGE_BYTES"]

HUGE_PAGE_BYTES = 2 * 1024 * 1024
_MIN_BYTES = 16 * 1024


def huge_empty(shape, dtype) -> np.ndarray:
    """Uninitialised-contents (actually zero) array, on huge pages if large and possible."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    nbytes = count * dtype.itemsize
    advise = getattr(mmap, "MADV_HUGEPAGE", None)
    if nbytes < _MIN_BYTES or advise is None:
        return np.zeros(shape, dtype)
    buf = mmap.mmap(-1, nbytes + HUGE_PAGE_BYTES,
                    flags=mmap.MAP_PRIVATE | getattr(mmap, "MAP_ANONYMOUS", 0x20))
    try:
        buf.madvise(advise)
    except OSError:
        pass
    base = np.frombuffer(buf, dtype=np.uint8)
    off = (-base.ctypes.data) % HUGE_PAGE_BYTES
    return base[off: off + nbytes].view(dtype).reshape(shape)


def huge_zeros(shape, dtype) -> np.ndarray:
    """Zero-filled array (fresh anonymous mappings are zero), on huge pages if possible."""
    return huge_empty(shape, dtype)
