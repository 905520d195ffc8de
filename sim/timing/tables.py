"""Measured kernel tables as interpolators: log-latency, linear in log sizes, never extrapolated.

``GemmTable`` keeps one m-curve per measured weight shape (n, k) and blends the four
neighbouring shapes bilinearly in (log n, log k); ``GridTable`` keeps, per attention
configuration, a (batch, length) grid; ``CurveTable`` a message-size curve per GPU count.
A query outside the measured range returns NaN: the caller falls back to the analytic
model and counts it.  Repeated measurements of one shape are averaged (geometric mean).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["GemmTable", "GridTable", "CurveTable", "ATTN_KEY"]

ATTN_KEY = ["num_heads", "num_key_value_heads", "head_dim", "kv_cache_dtype", "window_size"]


def _bracket(grid: np.ndarray, x: float):
    """(lo, hi, weight of hi) of ``x`` in a sorted grid, on log scale; None outside it."""
    if x < grid[0] or x > grid[-1]:
        return None
    j = int(np.searchsorted(grid, x))
    if grid[j] == x:
        return grid[j], grid[j], 0.0
    lo, hi = grid[j - 1], grid[j]
    return lo, hi, float((np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo)))


def _interp_nan(x, xs, ys):
    """np.interp in x with NaN outside [xs[0], xs[-1]] (ys may hold NaN)."""
    out = np.interp(x, xs, ys)
    return np.where((x < xs[0] - 1e-12) | (x > xs[-1] + 1e-12), np.nan, out)


class GemmTable:
    """bf16 GEMM latencies: ``seconds(m, n, k)`` with m an array, n and k scalars."""

    def __init__(self, df: pd.DataFrame):
        # curves are built on first use (a run needs only its model's few weight shapes)
        self._m = df["m"].to_numpy(dtype=float)
        self._lt = np.log(df["latency_ms"].to_numpy(dtype=float) * 1e-3)
        self._idx = {(int(n), int(k)): i for (n, k), i in df.groupby(["n", "k"]).indices.items()}
        self._curves: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.n_grid = np.array(sorted({n for n, _ in self._idx}), dtype=float)
        self.k_grid = np.array(sorted({k for _, k in self._idx}), dtype=float)
        self._blend: dict[tuple[int, int], tuple | None] = {}

    def _measured(self, n: int, k: int):
        """(log m, log seconds) measured at weight shape (n, k), repeats averaged; None if absent."""
        got = self._curves.get((n, k))
        if got is None:
            idx = self._idx.get((n, k))
            if idx is None:
                return None
            got = _mean_by(self._m[idx], self._lt[idx])
            self._curves[(n, k)] = got
        return got

    def curve(self, n: int, k: int):
        """(log m grid, log seconds) for weight shape (n, k), or None if not bracketed."""
        key = (int(n), int(k))
        if key not in self._blend:
            self._blend[key] = self._make_curve(*key)
        return self._blend[key]

    def _make_curve(self, n: int, k: int):
        bn, bk = _bracket(self.n_grid, n), _bracket(self.k_grid, k)
        if bn is None or bk is None:
            return None
        corners = [(bn[0], bk[0], (1 - bn[2]) * (1 - bk[2])), (bn[1], bk[0], bn[2] * (1 - bk[2])),
                   (bn[0], bk[1], (1 - bn[2]) * bk[2]), (bn[1], bk[1], bn[2] * bk[2])]
        curves = []
        for cn, ck, w in corners:
            c = self._measured(int(cn), int(ck))
            if c is None:
                if w > 0:
                    return None
                continue
            curves.append((c, w))
        lo = max(c[0][0] for c, _ in curves)
        hi = min(c[0][-1] for c, _ in curves)
        grid = np.unique(np.concatenate([c[0] for c, _ in curves]))
        grid = grid[(grid >= lo) & (grid <= hi)]
        if grid.size == 0:
            return None
        lt = sum(w * np.interp(grid, c[0], c[1]) for c, w in curves)
        return grid, lt

    def seconds(self, m, n: int, k: int):
        """Seconds for each m (array), NaN where (m, n, k) is outside the table."""
        m = np.atleast_1d(np.asarray(m, dtype=float))
        c = self.curve(n, k)
        if c is None:
            return np.full(m.shape, np.nan)
        return np.exp(_interp_nan(np.log(m), c[0], c[1]))


class GridTable:
    """Attention latencies on a (batch, length) grid per configuration ``ATTN_KEY``."""

    def __init__(self, df: pd.DataFrame, length: str):
        self.length = length
        self._b = df["batch_size"].to_numpy(dtype=float)
        self._x = df[length].to_numpy(dtype=float)
        self._lt = np.log(df["latency_ms"].to_numpy(dtype=float) * 1e-3)
        self._idx = {_norm_key(k): i for k, i in df.groupby(ATTN_KEY).indices.items()}
        self._grids: dict = {}

    def _grid(self, key):
        """(log batch grid, log length grid, log seconds with NaN where unmeasured), built lazily."""
        key = _norm_key(key)
        got = self._grids.get(key)
        if got is None:
            idx = self._idx.get(key)
            if idx is None:
                return None
            b, x, lt = self._b[idx], self._x[idx], self._lt[idx]
            bg, xg = np.unique(b), np.unique(x)
            bi, xi = np.searchsorted(bg, b), np.searchsorted(xg, x)
            z = np.full((bg.size, xg.size), np.nan)
            tot = np.zeros_like(z)
            cnt = np.zeros_like(z)
            np.add.at(tot, (bi, xi), lt)
            np.add.at(cnt, (bi, xi), 1.0)
            z = np.where(cnt > 0, tot / np.maximum(cnt, 1.0), np.nan)
            got = (np.log(bg), np.log(xg), z)
            self._grids[key] = got
        return got

    def has(self, key) -> bool:
        return _norm_key(key) in self._idx

    def keys(self):
        return list(self._idx)

    def seconds(self, key, batch, length):
        """Seconds at each (batch, length) (arrays) for one configuration; NaN outside the grid."""
        b = np.log(np.atleast_1d(np.asarray(batch, dtype=float)))
        x = np.log(np.atleast_1d(np.asarray(length, dtype=float)))
        grid = self._grid(key)
        if grid is None:
            return np.full(np.broadcast(b, x).shape, np.nan)
        return np.exp(_bilinear(*grid, *np.broadcast_arrays(b, x)))

    def row(self, key, batch: float):
        """(log length grid, log seconds) at one batch size (interpolated), or None."""
        grid = self._grid(key)
        if grid is None:
            return None
        lb, lx, z = grid
        xs = np.full(lx.shape, np.log(batch))
        lt = _bilinear(lb, lx, z, xs, lx)
        ok = np.isfinite(lt)
        return (lx[ok], lt[ok]) if ok.any() else None


def _mean_by(x: np.ndarray, y: np.ndarray):
    """(sorted unique x as logs, mean of y at each) -- repeated measurements averaged."""
    ux, inv = np.unique(x, return_inverse=True)
    tot = np.zeros(ux.size)
    np.add.at(tot, inv, y)
    return np.log(ux), tot / np.bincount(inv)


def _norm_key(key):
    h, hk, d, dt, w = key
    return int(h), int(hk), int(d), str(dt), int(w)


def _bilinear(lb, lx, z, b, x):
    """Bilinear interpolation of z on the (lb, lx) grid at points (b, x); NaN outside or where
    a needed corner is missing."""
    out = np.full(b.shape, np.nan)
    inside = (b >= lb[0] - 1e-12) & (b <= lb[-1] + 1e-12) & (x >= lx[0] - 1e-12) & (x <= lx[-1] + 1e-12)
    if not inside.any():
        return out
    bi, xi = b[inside], x[inside]
    i1 = np.clip(np.searchsorted(lb, bi), 0, lb.size - 1)
    j1 = np.clip(np.searchsorted(lx, xi), 0, lx.size - 1)
    i0, j0 = np.maximum(i1 - 1, 0), np.maximum(j1 - 1, 0)
    wb = np.where(i1 > i0, (bi - lb[i0]) / np.where(i1 > i0, lb[i1] - lb[i0], 1.0), 0.0)
    wx = np.where(j1 > j0, (xi - lx[j0]) / np.where(j1 > j0, lx[j1] - lx[j0], 1.0), 0.0)
    exact_b, exact_x = np.isclose(bi, lb[i1]), np.isclose(xi, lx[j1])
    i0, wb = np.where(exact_b, i1, i0), np.where(exact_b, 0.0, wb)
    j0, wx = np.where(exact_x, j1, j0), np.where(exact_x, 0.0, wx)
    val = np.zeros(bi.shape)
    for ii, jj, w in ((i0, j0, (1 - wb) * (1 - wx)), (i1, j0, wb * (1 - wx)),
                      (i0, j1, (1 - wb) * wx), (i1, j1, wb * wx)):
        zz = z[ii, jj]
        val += np.where(w > 0, w * zz, 0.0)
        val = np.where((w > 0) & np.isnan(zz), np.nan, val)
    out[inside] = val
    return out


class CurveTable:
    """All-reduce latencies: one curve over message size per (dtype, GPU count)."""

    def __init__(self, df: pd.DataFrame):
        g = df.assign(lt=np.log(df["latency_ms"] * 1e-3)).groupby(["nccl_dtype", "num_gpus", "message_elems"])["lt"].mean()
        self._curves = {}
        for (dt, gpus), s in g.groupby(level=[0, 1]):
            e = s.index.get_level_values(2).to_numpy(dtype=float)
            self._curves[(str(dt), int(gpus))] = (np.log(e), s.to_numpy())

    def seconds(self, dtype: str, gpus: int, elems):
        e = np.log(np.atleast_1d(np.asarray(elems, dtype=float)))
        c = self._curves.get((str(dtype), int(gpus)))
        if c is None:
            return np.full(e.shape, np.nan)
        return np.exp(_interp_nan(e, c[0], c[1]))
