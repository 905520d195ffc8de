"""Standard (naive) attention: materialise S = QK^T, softmax it in place, then O = PV.

The n x n score matrix lives in memory, so besides Q, K, V and O the kernel
writes S, reads it back to normalise it and reads it again for PV: the
``4 n^2`` extra element moves FlashAttention was designed to remove.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["attention_naive", "attention_naive_ref", "attention_ref"]


def _attention_naive(q, k, v, s, out):
    n, d = q.shape
    scale = np.float32(1.0 / math.sqrt(d))
    for i in range(n):
        for j in range(n):
            acc = np.float32(0.0)
            for x in range(d):
                acc += q[i, x] * k[j, x]
            s[i, j] = acc * scale
    for i in range(n):
        mx = s[i, 0]
        for j in range(1, n):
            mx = max(mx, s[i, j])
        tot = np.float32(0.0)
        for j in range(n):
            p = np.float32(math.exp(s[i, j] - mx))
            s[i, j] = p
            tot += p
        inv = np.float32(1.0) / tot
        for j in range(n):
            s[i, j] *= inv
    for i in range(n):
        for x in range(d):
            out[i, x] = 0.0
        for j in range(n):
            p = s[i, j]
            for x in range(d):
                out[i, x] += p * v[j, x]
    return out


def attention_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V in float64 NumPy, cast back to q's dtype."""
    q64, k64, v64 = (x.astype(np.float64) for x in (q, k, v))
    s = q64 @ k64.T / math.sqrt(q.shape[1])
    s = np.exp(s - s.max(axis=1, keepdims=True))
    return ((s / s.sum(axis=1, keepdims=True)) @ v64).astype(q.dtype)


def attention_naive_ref(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The naive kernel's own loops, run as plain Python (tiny inputs only)."""
    n = q.shape[0]
    return _attention_naive(q, k, v, np.empty((n, n), q.dtype), np.empty_like(q))


# NOTE: fastmath lets LLVM vectorise the d loops, for speed.
_compiled = njit(cache=True, fastmath=True)(_attention_naive)


def attention_naive(q: np.ndarray, k: np.ndarray, v: np.ndarray, *, s: np.ndarray | None = None,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Compiled naive attention; pass ``s`` (n x n) and ``out`` to reuse buffers."""
    n = q.shape[0]
    s = np.empty((n, n), q.dtype) if s is None else s
    out = np.empty_like(q) if out is None else out
    return _compiled(q, k, v, s, out)
