"""Decode attention over a paged KV cache (PagedAttention's block table).

The arithmetic is the contiguous kernel's; each block of ``block_tokens`` tokens
is a jump through the block table to an unrelated address (restarting prefetch).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["paged_decode", "paged_decode_ref", "make_paged", "gather_paged"]


def make_paged(k: np.ndarray, v: np.ndarray, block_tokens: int, rng: np.random.Generator,
               spare_blocks: int = 0):
    """Scatter contiguous (heads, n, d) K/V into shuffled pools: (k_pool, v_pool, table).

    Pools are (num_blocks, heads, block_tokens, d); ``table[i]`` is the physical block
    of logical block i.  The last block is zero-padded past ``n``.
    """
    heads, n, d = k.shape
    nblk = -(-n // block_tokens)
    phys = rng.permutation(nblk + spare_blocks)[:nblk].astype(np.int64)
    shape = (nblk + spare_blocks, heads, block_tokens, d)
    k_pool, v_pool = np.zeros(shape, k.dtype), np.zeros(shape, v.dtype)
    for i in range(nblk):
        t0, t1 = i * block_tokens, min(n, (i + 1) * block_tokens)
        k_pool[phys[i], :, : t1 - t0] = k[:, t0:t1]
        v_pool[phys[i], :, : t1 - t0] = v[:, t0:t1]
    return k_pool, v_pool, phys


def gather_paged(pool: np.ndarray, table: np.ndarray, n: int) -> np.ndarray:
    """Contiguous (heads, n, d) view rebuilt from a pool and its block table."""
    blocks = pool[table]                       # (nblk, heads, bt, d)
    heads, d = pool.shape[1], pool.shape[3]
    return blocks.transpose(1, 0, 2, 3).reshape(heads, -1, d)[:, :n]


def _paged(q, k_pool, v_pool, table, n, scores, out):
    heads, d = q.shape
    bt = k_pool.shape[2]
    scale = np.float32(1.0 / math.sqrt(d))
    nblk = (n + bt - 1) // bt
    for h in range(heads):
        mx = np.float32(-np.inf)
        for b in range(nblk):
            pb = table[b]
            cnt = min(bt, n - b * bt)
            for t in range(cnt):
                dot = np.float32(0.0)
                for x in range(d):
                    dot += q[h, x] * k_pool[pb, h, t, x]
                dot *= scale
                scores[b * bt + t] = dot
                mx = max(mx, dot)
        for x in range(d):
            out[h, x] = 0.0
        tot = np.float32(0.0)
        for b in range(nblk):
            pb = table[b]
            cnt = min(bt, n - b * bt)
            for t in range(cnt):
                p = np.float32(math.exp(scores[b * bt + t] - mx))
                tot += p
                for x in range(d):
                    out[h, x] += p * v_pool[pb, h, t, x]
        inv = np.float32(1.0) / tot
        for x in range(d):
            out[h, x] *= inv
    return out


def paged_decode_ref(q, k_pool, v_pool, table, n):
    """The paged loops run as plain Python (tiny inputs only)."""
    return _paged(q, k_pool, v_pool, table, n, np.empty(n, q.dtype), np.empty_like(q))


# NOTE: fastmath lets LLVM vectorise the d loops, for speed.
_compiled = njit(cache=True, fastmath=True)(_paged)


def paged_decode(q, k_pool, v_pool, table, n: int, *, scores=None, out=None):
    """Compiled paged decode attention over ``n`` tokens."""
    scores = np.empty(n, q.dtype) if scores is None else scores
    out = np.empty_like(q) if out is None else out
    return _compiled(q, k_pool, v_pool, table, n, scores, out)
