"""One accelerator's kernel times: measured tables first, the analytic model for the rest.

    >>> t = KernelTimer(load_platform("h100_sxm"))
    >>> t.gemm(1, 6144, 4096)                     # seconds
    >>> t.generation_attention(32, 4096, 32, 8, 128)

Every method takes sizes (scalars or NumPy arrays) and returns seconds.  A shape outside
the platform's tables is timed analytically and counted in ``fallbacks[kind]``;
``use_tables=False`` times everything analytically (``memsim validate --no-tables``).
"""
from __future__ import annotations

import bisect
import math
from collections import Counter
from pathlib import Path

import numpy as np

from memsim.ground.errors import ConfigError
from memsim.hwmodels import HWMODELS_DIR, load_profile

from . import analytic as an
from .tables import CurveTable, GemmTable, GridTable
from .transfer import analytic_params

__all__ = ["KernelTimer", "device_of", "KV_DTYPES"]

KV_DTYPES = {"bf16": "bfloat16", "fp16": "bfloat16", "fp8": "fp8"}
"""memsim dtype -> the tables' ``kv_cache_dtype`` (fp16 is timed as bf16: same kernel, same bytes)."""

_profiles: dict[str, dict] = {}


def device_of(platform, dtype: str = "bf16") -> an.Device:
    """The datasheet numbers of one accelerator of ``platform`` the analytic model needs."""
    c = platform.compute
    hbm = platform.tier_of_kind("hbm") or platform.tier_of_kind("dram")
    if hbm is None:
        raise ConfigError(f"platform {platform.name!r} has no hbm or dram tier", field="tiers")
    link = platform.link_between(hbm.name, hbm.name)
    return an.Device(peak_flop_per_s=c.peak(dtype), hbm_bytes_per_s=hbm.read_bw, sm_count=c.sm_count,
                     link_bytes_per_s=link.bandwidth if link is not None else 0.0)


def _profile_dir(platform) -> Path | None:
    """The platform's kernel-profile folder: a relative ``kernels`` path is looked up beside
    the hardware file, then among the shipped tables (so an edited copy of a shipped file
    keeps its tables)."""
    t = platform.compute.timing
    if t is None or t.kernels is None:
        return None
    p = Path(t.kernels)
    if p.is_absolute():
        return p
    here = Path(platform.file).parent / p if platform.file is not None else p
    shipped = HWMODELS_DIR / p
    return here if here.is_dir() or not shipped.is_dir() else shipped


class KernelTimer:
    """Seconds per kernel on one accelerator of ``platform`` (compute dtype ``dtype``)."""

    def __init__(self, platform, *, dtype: str = "bf16", use_tables: bool = True, only: dict | None = None):
        self.platform = platform
        self.dev = device_of(platform, dtype)
        self.params, self.analytic_source = analytic_params(platform, dtype)
        self.fallbacks: Counter = Counter()
        self.lookups: Counter = Counter()
        folder = _profile_dir(platform) if use_tables else None
        self.kernels_dir = folder
        self.attention_kernel = platform.compute.timing.attention_kernel if folder is not None else None
        self._gemm = self._ctx = self._gen = self._ar = None
        self._affine_fits: dict = {}
        if folder is not None:
            # ``only``: {column: value} rows to load (an engine needs one attention configuration)
            key = (str(folder.resolve()), tuple(sorted((only or {}).items())))
            if key not in _profiles:
                _profiles[key] = self._build(load_profile(folder, where=only))
            self._gemm, ctx, gen, self._ar = _profiles[key]
            self._ctx = ctx.get(self.attention_kernel) if ctx else None
            self._gen = gen.get(self.attention_kernel) if gen else None

    def _table_affine(self, key, kv_range) -> dict:
        got = self._affine_fits.get(key)
        if got is None:
            grid = self._gen._grid(key)
            got = _fit_rows(grid, kv_range) if grid is not None else {}
            self._affine_fits[key] = got
        return got

    @staticmethod
    def _build(tables: dict):
        def by_source(df, length):
            return {s: GridTable(d, length) for s, d in df.groupby("kernel_source")} if len(df) else {}
        return (GemmTable(tables["gemm"]) if "gemm" in tables else None,
                by_source(tables["context_attention"], "seq_len") if "context_attention" in tables else None,
                by_source(tables["generation_attention"], "kv_len") if "generation_attention" in tables else None,
                CurveTable(tables["all_reduce"]) if "all_reduce" in tables else None)

    @property
    def source(self) -> str:
        """How this timer times kernels, in words (for run summaries)."""
        tab = (f"tables {self.kernels_dir.name} (attention kernel {self.attention_kernel}), "
               if self.kernels_dir is not None else "")
        return f"{tab}analytic {self.analytic_source}"

    def _merge(self, kind: str, table_s, analytic_fn):
        t = np.asarray(table_s, dtype=float)
        miss = ~np.isfinite(t)
        self.lookups[kind] += int(t.size)
        if miss.any():
            self.fallbacks[kind] += int(miss.sum())
            t = np.where(miss, analytic_fn(), t)
        return t

    # ---- the five kernel kinds ----------------------------------------------------------
    def gemm(self, m, n: int, k: int):
        """Seconds of (m x k) @ (k x n) in bf16; ``m`` may be an array."""
        m = np.atleast_1d(np.asarray(m, dtype=float))
        tab = self._gemm.seconds(m, n, k) if self._gemm is not None else np.full(m.shape, np.nan)
        return self._merge("gemm", tab, lambda: an.gemm_s(m, n, k, self.dev, self.params))

    def context_attention(self, batch, seq_len, heads: int, kv_heads: int, head_dim: int, *,
                          kv_dtype: str = "bfloat16", window: int = 0, context=0):
        """Seconds of one prefill attention call over ``batch`` chunks of ``seq_len`` new tokens
        after ``context`` cached ones each (causal, one layer)."""
        b, s, c = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, dtype=float))
                                        for x in (batch, seq_len, context)))
        key = (heads, kv_heads, head_dim, kv_dtype, window)
        # a chunk after cached context does the causal work of a fresh prompt of this length
        s_eq = np.sqrt(s * s + 2.0 * s * c)
        tab = self._ctx.seconds(key, b, s_eq) if self._ctx is not None else np.full(b.shape, np.nan)
        return self._merge("context_attention", tab, lambda: an.context_attention_s(
            b, s, heads, kv_heads, head_dim, self.dev, self.params, window=window,
            kv_bytes=_kv_bytes(kv_dtype), context=c))

    def generation_attention(self, batch, kv_len, heads: int, kv_heads: int, head_dim: int, *,
                             kv_dtype: str = "bfloat16", window: int = 0):
        """Seconds of one decode attention call: ``batch`` sequences of ``kv_len`` cached tokens."""
        b, x = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (batch, kv_len)))
        key = (heads, kv_heads, head_dim, kv_dtype, window)
        tab = self._gen.seconds(key, b, x) if self._gen is not None else np.full(b.shape, np.nan)
        return self._merge("generation_attention", tab, lambda: an.generation_attention_s(
            b, x, heads, kv_heads, head_dim, self.dev, self.params, kv_bytes=_kv_bytes(kv_dtype), window=window))

    def all_reduce(self, nbytes, gpus: int, *, elem_bytes: int = 2):
        """Seconds of an all-reduce of ``nbytes`` over ``gpus`` GPUs (0 for one GPU)."""
        nbytes = np.atleast_1d(np.asarray(nbytes, dtype=float))
        if gpus <= 1:
            return np.zeros(nbytes.shape)
        dt = "half" if elem_bytes == 2 else "int8" if elem_bytes == 1 else "float"
        tab = self._ar.seconds(dt, gpus, nbytes / elem_bytes) if self._ar is not None else np.full(nbytes.shape, np.nan)
        return self._merge("all_reduce", tab, lambda: an.all_reduce_s(nbytes, gpus, self.dev, self.params))

    def elementwise(self, nbytes):
        """Seconds of a memory-bound elementwise kernel moving ``nbytes`` (no tables: analytic)."""
        return an.elementwise_s(np.atleast_1d(np.asarray(nbytes, dtype=float)), self.dev, self.params)

    def generation_affine(self, batch: int, heads: int, kv_heads: int, head_dim: int, *,
                          kv_dtype: str = "bfloat16", window: int = 0, kv_range=(64, 1 << 17)):
        """(a, b): decode attention of ``batch`` sequences reading S KV tokens in all is
        ``a + b * S`` -- the least-squares fit, in relative error, to the measured lengths at
        this batch size (or to the analytic model's curve).  Keeps decode runs in closed form;
        ``docs/calibration.md`` states the fit's error."""
        key = (heads, kv_heads, head_dim, kv_dtype, window)
        fits = self._table_affine(key, kv_range) if self._gen is not None and not window else None
        if fits:
            bs = sorted(fits)
            if bs[0] <= batch <= bs[-1]:
                # between two measured batch sizes: both coefficients log-linear in the batch
                j = min(max(bisect.bisect_left(bs, batch), 1), len(bs) - 1)
                lo, hi = bs[j - 1], bs[j]
                w = 0.0 if batch <= lo else (math.log(batch) - math.log(lo)) / (math.log(hi) - math.log(lo))
                (a0, b0), (a1, b1) = fits[lo], fits[hi]
                return math.exp((1 - w) * math.log(a0) + w * math.log(a1)), \
                    math.exp((1 - w) * math.log(b0) + w * math.log(b1))
        self.fallbacks["generation_attention"] += 1
        x = np.geomspace(kv_range[0], kv_range[1], 12)
        t = an.generation_attention_s(batch, x, heads, kv_heads, head_dim, self.dev, self.params,
                                      kv_bytes=_kv_bytes(kv_dtype), window=window)
        fit = _affine(batch, x, t)
        if fit is None:    # degenerate curve: the large-call slope, exact by construction
            fixed, per_seq, per_tok = an.generation_affine(heads, kv_heads, head_dim, self.dev, self.params,
                                                           kv_bytes=_kv_bytes(kv_dtype))
            fit = float(fixed + per_seq * batch), float(per_tok)
        return fit


def _fit_rows(grid, kv_range) -> dict:
    """{measured batch size: (a, b)} of the affine decode fit, from one configuration's grid."""
    lb, lx, z = grid
    out = {}
    for i, b in enumerate(np.exp(lb)):
        x, t = np.exp(lx), np.exp(z[i])
        keep = np.isfinite(t) & (x >= kv_range[0]) & (x <= kv_range[1])
        fit = _affine(float(b), x[keep], t[keep]) if keep.sum() >= 3 else None
        if fit is not None:
            out[float(b)] = fit
    return out


def _affine(batch: int, x, t):
    """(a, b) minimising sum(((a + b * batch * x) / t - 1)^2), or None unless both are positive."""
    s = batch * x
    w = 1.0 / t
    (a, b), *_ = np.linalg.lstsq(np.stack([w, w * s], axis=1), np.ones_like(t), rcond=None)
    return (float(a), float(b)) if a > 0 and b > 0 else None


def _kv_bytes(kv_dtype: str) -> float:
    return 1.0 if kv_dtype == "fp8" else 2.0
