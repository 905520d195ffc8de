"""How long one batch iteration takes: the kernels a vLLM-style engine launches, each timed.

Per layer: input norm, QKV GEMM (n = (heads + 2 kv_heads) head_dim / tp, k = hidden),
rotary, KV-cache write, prefill attention (one call over the iteration's chunks), decode
attention (one call over the decoding sequences), O GEMM (k split by tp), all-reduce,
post-attention norm, gate/up GEMM (n split by tp) or the MoE router and expert GEMMs,
activation, down GEMM (k split by tp), all-reduce.  Once per iteration: embedding, final
norm, LM head (only for tokens that sample), sampling; plus the host overhead, and each
kernel's CPU launch cost when CUDA graphs are off.

Decode attention is affine in the batch's total KV tokens S for a fixed batch size n
(``KernelTimer.generation_affine``), so a decode-only iteration is ``a(n) + b(n) S`` exactly
and the engine advances decode runs in closed form.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from memsim.ground.errors import ConfigError

from . import analytic as an
from .shape import IterationShape
from .timer import KV_DTYPES, KernelTimer

__all__ = ["IterationTimer"]

_BLOCK = 512   # token counts whose per-layer GEMM time is computed together (vectorised)


class IterationTimer:
    """Iteration times of ``model`` on ``tp`` accelerators timed by ``timer``."""

    def __init__(self, timer: KernelTimer, model, *, tp: int, kv_dtype: str):
        m = model
        if m.heads % tp or m.kv_heads % tp and tp % m.kv_heads:
            raise ConfigError(f"tp={tp} does not divide the model's {m.heads} heads / {m.kv_heads} KV heads",
                              field="parallelism.tp")
        self.timer, self.model, self.tp = timer, model, tp
        self.layers = m.layers
        self.heads = m.heads // tp
        self.kv_heads = max(1, m.kv_heads // tp)          # KV heads are replicated past tp = kv_heads
        self.head_dim = m.head_dim
        self.kv_dtype = KV_DTYPES.get(kv_dtype, "bfloat16")
        self.window = int(m.sliding_window or 0)
        self.dtype_bytes = m.dtype_bytes
        h = m.hidden
        q = m.heads * m.head_dim // tp
        kv = 2 * self.kv_heads * m.head_dim
        mats = 2 if m.gated_ffn else 1
        self.moe = m.moe
        ffn = m.ffn // tp
        self.dense_gemms = [(q + kv, h), (h, q)]
        self.ffn_gemms = [(mats * ffn, h), (h, ffn)]
        self.lm_head = (m.vocab // tp, h)
        self.kv_token_layer_bytes = kv * m.kv_dtype_bytes
        self.hidden = h
        self.ffn = ffn
        t = timer.platform.compute.timing
        self.host_s = float(t.host_overhead) if t is not None else float(timer.platform.compute.iteration_overhead)
        graphs = t.cuda_graphs if t is not None else True
        self.launch_s = 0.0 if graphs else float(t.launch_overhead if t is not None else 0.0)
        n_layer_kernels = 12 + (2 if tp > 1 else 0)
        self.kernels_per_iter = n_layer_kernels * m.layers + 4
        self._layer_gemm: list[float] = []
        self._head: dict[int, float] = {}
        self._dec: dict[int, tuple[float, float]] = {}
        self._fixed = self.host_s + self.launch_s * self.kernels_per_iter
        self.chunks_timed = 0
        self.chunks_analytic = 0
        self._build_prefill_curve()

    # ---- per-token-count pieces (memoised) ------------------------------------------
    def _extend(self, upto: int) -> None:
        start = len(self._layer_gemm)
        stop = max(upto + 1, start + _BLOCK)
        tok = np.arange(max(start, 1), stop, dtype=float)
        tot = self._tokens_cost(tok)
        if start == 0:
            self._layer_gemm.append(0.0)
        self._layer_gemm.extend(float(x) for x in tot)

    def _tokens_cost(self, tok):
        """Seconds of everything whose size is set by the token count alone, all layers."""
        t, L, b = self.timer, self.layers, self.dtype_bytes
        per_layer = sum(t.gemm(tok, n, k) for n, k in self.dense_gemms)
        if self.moe is None:
            per_layer = per_layer + sum(t.gemm(tok, n, k) for n, k in self.ffn_gemms)
        else:
            per_layer = per_layer + self._moe_cost(tok)
        h = self.hidden
        ew = (t.elementwise(tok * h * b * 3) * 2                                     # two add+norms
              + t.elementwise(tok * self.heads * self.head_dim * b * 2 * 2)         # rotary on q, k
              + t.elementwise(tok * self.kv_token_layer_bytes * 2)                  # KV-cache write
              + t.elementwise(tok * self.ffn * b * 3))                               # activation
        per_layer = per_layer + ew
        if self.tp > 1:
            per_layer = per_layer + 2 * t.all_reduce(tok * h * b, self.tp, elem_bytes=b)
        once = t.elementwise(tok * h * b * 2) * 2                                    # embedding, final norm
        return L * per_layer + once

    def _moe_cost(self, tok):
        t, e, a = self.timer, self.moe.experts, self.moe.active_experts
        touched = e * (1.0 - (1.0 - a / e) ** tok)
        per_expert = np.maximum(1.0, np.ceil(tok * a / touched))
        router = t.gemm(tok, e, self.hidden)
        experts = sum(t.gemm(per_expert, n, k) for n, k in self.ffn_gemms)
        return router + touched * experts

    def tokens_s(self, tokens: int) -> float:
        if tokens >= len(self._layer_gemm):
            self._extend(tokens)
        return self._layer_gemm[tokens]

    def head_s(self, tokens: int) -> float:
        """LM head and sampling for ``tokens`` sampling positions."""
        got = self._head.get(tokens)
        if got is None:
            n, k = self.lm_head
            got = 0.0 if tokens <= 0 else float(self.timer.gemm(tokens, n, k)[0]
                                               + self.timer.elementwise(tokens * n * 4.0 * 2)[0])
            self._head[tokens] = got
        return got

    def outside_layers_s(self, tokens: int, sampling: int) -> float:
        """Seconds of an iteration of ``tokens`` tokens spent outside the transformer layers:
        host overhead and launches, embedding and final norm, LM head and sampling."""
        if tokens <= 0:
            return 0.0
        once = 2 * float(self.timer.elementwise(np.asarray([tokens * self.hidden * self.dtype_bytes * 2.0]))[0])
        return self._fixed + once + self.head_s(sampling)

    def decode_ab(self, n: int) -> tuple[float, float]:
        """(a, b) of decode attention over all layers for n sequences: ``a + b * S``."""
        got = self._dec.get(n)
        if got is None:
            a, b = self.timer.generation_affine(n, self.heads, self.kv_heads, self.head_dim,
                                                kv_dtype=self.kv_dtype, window=self.window)
            got = (self.layers * a, self.layers * b)
            self._dec[n] = got
        return got

    def _build_prefill_curve(self) -> None:
        """One layer's prefill attention of one chunk vs its fresh-prompt length of equal causal
        work, on a log grid from 1 to 2^22 tokens: the tables where they reach, the analytic
        model past them (counted per chunk).  Chunks are then timed by interpolation (speed)."""
        grid = np.unique(np.round(np.geomspace(1, 1 << 22, 400)))
        t = self.timer
        key = (self.heads, self.kv_heads, self.head_dim, self.kv_dtype, self.window)
        tab = t._ctx.seconds(key, np.ones_like(grid), grid) if t._ctx is not None else np.full(grid.shape, np.nan)
        ana = an.context_attention_s(1, grid, self.heads, self.kv_heads, self.head_dim, t.dev, t.params,
                                     window=self.window, kv_bytes=1.0 if self.kv_dtype == "fp8" else 2.0)
        measured = np.isfinite(tab)
        self._pf_x = np.log(grid).tolist()
        self._pf_y = np.log(np.where(measured, tab, ana)).tolist()
        self._pf_table_max = float(grid[measured].max()) if measured.any() else 0.0
        self._pf_table_min = float(grid[measured].min()) if measured.any() else math.inf
        self._pf_one = math.exp(self._pf_y[0])

    def chunk_s(self, context: int, tokens: int) -> float:
        """One layer's prefill attention for ``tokens`` new tokens after ``context`` cached ones."""
        s_eq = math.sqrt(tokens * tokens + 2.0 * tokens * context)
        self.chunks_timed += 1          # NOTE: plain ints, not the timer's Counters, for speed
        if not self._pf_table_min <= s_eq <= self._pf_table_max:
            self.chunks_analytic += 1
        x = math.log(s_eq) if s_eq > 1.0 else 0.0
        xs, ys = self._pf_x, self._pf_y
        j = min(max(bisect.bisect_right(xs, x), 1), len(xs) - 1)
        w = (x - xs[j - 1]) / (xs[j] - xs[j - 1])
        return math.exp(ys[j - 1] + w * (ys[j] - ys[j - 1]))

    def chunk_s_array(self, context: int, tokens):
        """``chunk_s`` over an array of token counts."""
        tokens = np.asarray(tokens, dtype=float)
        s_eq = np.sqrt(tokens * tokens + 2.0 * tokens * context)
        return np.exp(np.interp(np.log(np.maximum(s_eq, 1.0)), self._pf_x, self._pf_y))

    def prefill_attention_s(self, chunks) -> float:
        """One prefill attention call per layer over the chunks [(context, new tokens), ...]."""
        if not chunks:
            return 0.0
        tot = 0.0
        for ctx, c in chunks:
            tot += self.chunk_s(ctx, c)
        if len(chunks) > 1:
            tot -= (len(chunks) - 1) * self._pf_one   # one varlen call: the chunks share one launch and setup
        return self.layers * tot

    # ---- an iteration -----------------------------------------------------------------
    def base_s(self, shape: IterationShape) -> float:
        """Seconds of the iteration without the decode attention's per-KV-token part.

        NOTE: memo lookups are inlined for speed (this runs once per planned iteration); the
        additions keep one order, so a decode-only iteration is exactly ``a + b * S``."""
        dec = shape.decode_seqs
        tokens = shape.prefill_tokens + dec
        if tokens <= 0:
            return 0.0
        lg = self._layer_gemm
        t = self._fixed + (lg[tokens] if tokens < len(lg) else self.tokens_s(tokens))
        heads = dec + shape.prefill_last_tokens
        hs = self._head.get(heads)
        t += hs if hs is not None else self.head_s(heads)
        if shape.prefill_tokens:
            t += self.prefill_attention_s(shape.prefill_chunks or _one_chunk(shape))
        if dec:
            ab = self._dec.get(dec)
            t += (ab if ab is not None else self.decode_ab(dec))[0]
        return t


def _one_chunk(shape: IterationShape):
    """A chunk list for a shape built without one: one chunk of the same causal work."""
    c = shape.prefill_tokens
    ctx = max(0.0, (shape.prefill_pairs - c * (c + 1) / 2.0) / c)
    return [(int(math.floor(ctx)), c)]
