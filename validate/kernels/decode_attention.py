"""Decode attention over a contiguous KV cache: one query token per head.

Per head the kernel scores the query against every cached key (reading K once),
then softmax-weights the values (reading V once): ``2 * heads * n * d`` elements
streamed, ``4 * heads * n * d`` FLOPs, one ``exp`` per token.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["decode_attention", "decode_attention_ref"]


def _decode(q, k, v, scores, out):
    heads, n, d = k.shape
    scale = np.float32(1.0 / math.sqrt(d))
    for h in range(heads):
        mx = np.float32(-np.inf)
        for t in range(n):
            dot = np.float32(0.0)
            for x in range(d):
                dot += q[h, x] * k[h, t, x]
            dot *= scale
            scores[t] = dot
            mx = max(mx, dot)
        for x in range(d):
            out[h, x] = 0.0
        tot = np.float32(0.0)
        for t in range(n):
            p = np.float32(math.exp(scores[t] - mx))
            tot += p
            for x in range(d):
                out[h, x] += p * v[h, t, x]
        inv = np.float32(1.0) / tot
        for x in range(d):
            out[h, x] *= inv
    return out


def decode_attention_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """NumPy float64 reference: per head softmax(q K^T / sqrt(d)) V."""
    q64, k64, v64 = (x.astype(np.float64) for x in (q, k, v))
    s = np.einsum("hd,hnd->hn", q64, k64) / math.sqrt(q.shape[1])
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.einsum("hn,hnd->hd", p, v64).astype(q.dtype)


# NOTE: fastmath lets LLVM vectorise the d loops, for speed.
_compiled = njit(cache=True, fastmath=True)(_decode)


def decode_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, *, scores=None, out=None):
    """Compiled decode attention; q is (heads, d), k and v are (heads, n, d)."""
    scores = np.empty(k.shape[1], q.dtype) if scores is None else scores
    out = np.empty_like(q) if out is None else out
    return _compiled(q, k, v, scores, out)
