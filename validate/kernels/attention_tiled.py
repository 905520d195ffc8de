"""FlashAttention-style tiled attention, FlashAttention-2 loop order, explicit tiles.

Q blocks outside, K/V tiles streamed inside with an online softmax; the tile
buffers are the "SRAM".  The instrumented build counts elements loaded into the
tiles and written back, to match ``memsim.sim.kernel.attention_io('flash2')`` exactly.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["attention_tiled", "attention_tiled_counted", "attention_tiled_ref", "tile_loads",
           "tile_buffer_elems"]


def _attention_tiled(q, k, v, out, lse, br, bc, counts, instrument):
    n, d = q.shape
    scale = np.float32(1.0 / math.sqrt(d))
    qt = np.empty((br, d), q.dtype)
    kt = np.empty((bc, d), q.dtype)
    vt = np.empty((bc, d), q.dtype)
    st = np.empty((br, bc), q.dtype)
    acc = np.empty((br, d), q.dtype)
    m = np.empty(br, q.dtype)
    l = np.empty(br, q.dtype)
    for i0 in range(0, n, br):
        rows = min(br, n - i0)
        for r in range(rows):
            for x in range(d):
                qt[r, x] = q[i0 + r, x]
            for x in range(d):
                acc[r, x] = 0.0
            m[r] = -np.inf
            l[r] = 0.0
        if instrument:
            counts[0] += rows * d
        for j0 in range(0, n, bc):
            cols = min(bc, n - j0)
            for c in range(cols):
                for x in range(d):
                    kt[c, x] = k[j0 + c, x]
                for x in range(d):
                    vt[c, x] = v[j0 + c, x]
            if instrument:
                counts[0] += 2 * cols * d
            for r in range(rows):
                mx = m[r]
                for c in range(cols):
                    dot = np.float32(0.0)
                    for x in range(d):
                        dot += qt[r, x] * kt[c, x]
                    dot *= scale
                    st[r, c] = dot
                    mx = max(mx, dot)
                alpha = np.float32(math.exp(m[r] - mx))
                tot = np.float32(0.0)
                for c in range(cols):
                    p = np.float32(math.exp(st[r, c] - mx))
                    st[r, c] = p
                    tot += p
                l[r] = l[r] * alpha + tot
                m[r] = mx
                for x in range(d):
                    acc[r, x] *= alpha
                for c in range(cols):
                    p = st[r, c]
                    for x in range(d):
                        acc[r, x] += p * vt[c, x]
        for r in range(rows):
            inv = np.float32(1.0) / l[r]
            for x in range(d):
                out[i0 + r, x] = acc[r, x] * inv
            lse[i0 + r] = m[r] + math.log(l[r])
        if instrument:
            counts[1] += rows * d + rows
    return out


def tile_loads(n: int, d: int, block_rows: int) -> tuple[int, int]:
    """(reads, writes) in elements the loop above makes: Q once, K and V once per Q
    block; O and the logsumexp once."""
    blocks = -(-n // block_rows)
    return n * d + 2 * n * d * blocks, n * d + n


def tile_buffer_elems(d: int, block_rows: int, block_cols: int) -> int:
    """Elements of the kernel's tile buffers (Q, acc, K, V, S tiles; m and l vectors)."""
    return 2 * block_rows * d + 2 * block_cols * d + block_rows * block_cols + 2 * block_rows


def attention_tiled_ref(q, k, v, block_rows: int, block_cols: int):
    """The tiled loops run as plain Python: (out, counts[reads, writes]) for tiny inputs."""
    counts = np.zeros(2, np.int64)
    out = _attention_tiled(q, k, v, np.empty_like(q), np.empty(q.shape[0], q.dtype),
                           block_rows, block_cols, counts, True)
    return out, counts


# NOTE: fastmath lets LLVM vectorise the d loops, for speed.
_compiled = njit(cache=True, fastmath=True)(_attention_tiled)


def _check(q, block_rows, block_cols):
    if block_rows < 1 or block_cols < 1:
        raise ValueError(f"block_rows={block_rows}, block_cols={block_cols}: both must be >= 1")


def attention_tiled(q, k, v, block_rows: int, block_cols: int, *, out=None):
    """Compiled tiled attention (no counting)."""
    _check(q, block_rows, block_cols)
    out = np.empty_like(q) if out is None else out
    return _compiled(q, k, v, out, np.empty(q.shape[0], q.dtype), block_rows, block_cols,
                     np.zeros(2, np.int64), False)


def attention_tiled_counted(q, k, v, block_rows: int, block_cols: int):
    """Instrumented build: (out, counts) with counts = [elements read into tiles, written]."""
    _check(q, block_rows, block_cols)
    counts = np.zeros(2, np.int64)
    out = _compiled(q, k, v, np.empty_like(q), np.empty(q.shape[0], q.dtype), block_rows,
                    block_cols, counts, True)
    return out, counts
