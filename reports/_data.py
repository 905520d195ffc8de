"""Turning Result tables into the series the figures plot.

Labels for one or several results, empirical CDFs, interval tables spread into
time bins (a closed-form decode run of many steps is one row), and down-sampling
so a one-hour run still gives a report of a few megabytes.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["labelled", "labels_from_dirs", "ecdf", "spread_over_bins", "time_edges", "binned_max", "flatten",
           "tier_hit_ratios", "MAX_POINTS", "POINT_FILE", "AS_WRITTEN"]

#: Most points a single trace carries in the report (CDFs, time series).
MAX_POINTS = 400


def labelled(results: Any) -> dict[str, Any]:
    """One Result, a list of them or a ``{label: Result}`` dict -> ``{label: Result}``.

    A list's labels are the scenario's ``name`` when it has one, else ``run 1``,
    ``run 2``...; repeated labels get a ``#2`` suffix so no result is dropped.
    """
    if isinstance(results, Mapping):
        return {str(k): v for k, v in results.items()}
    # asked of the class (or the instance's own attributes): ``hasattr(res, "requests")``
    # would read a spilled requests table back whole just to answer
    if hasattr(results, "summary") and (hasattr(type(results), "requests")
                                        or "requests" in getattr(results, "__dict__", {})):
        results = [results]
    out: dict[str, Any] = {}
    for i, res in enumerate(results, start=1):
        name = (getattr(res, "scenario", None) or {}).get("name") if isinstance(
            getattr(res, "scenario", None), dict) else None
        label = str(name) if name else f"run {i}"
        base, n = label, 2
        while label in out:
            label, n = f"{base} #{n}", n + 1
        out[label] = res
    if not out:
        raise ValueError("no results to report")
    return out


#: written beside a sweep's saved run (``memsim sweep --save-runs``): its label from the swept values
POINT_FILE = "sweep_point.json"
#: suffix of a sweep table's column that keeps a swept quantity as the sweep file wrote it ("256 GiB")
AS_WRITTEN = " (as written)"


def _point_label(d: Path) -> str | None:
    try:
        label = json.loads((d / POINT_FILE).read_text()).get("label")
    except (OSError, ValueError, AttributeError):
        return None
    return label if isinstance(label, str) and label else None


def labels_from_dirs(dirs: list[str | Path]) -> list[str]:
    """Short, unique labels for result directories: a sweep run's swept values
    (``block_tokens=16, max_batch_size=64``), else the folder's name, parents added on clashes."""
    paths = [Path(d).resolve() for d in dirs]
    swept = [_point_label(p) for p in paths]
    depth = 1
    while True:
        labels = [s or "/".join(p.parts[-depth:]) for s, p in zip(swept, paths)]
        if len(set(labels)) == len(labels) or depth >= max(len(p.parts) for p in paths):
            return labels
        depth += 1


def ecdf(values: Any, *, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Finite values -> (x, F(x)) of the empirical CDF, at most ``max_points`` points."""
    x = np.asarray(values, dtype=float)
    x = np.sort(x[np.isfinite(x)])
    if x.size == 0:
        return x, x
    f = np.arange(1, x.size + 1) / x.size
    if x.size > max_points:
        idx = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, f = x[idx], f[idx]
    return x, f


def time_edges(t_end_s: float, *, bins: int = 200) -> np.ndarray:
    """``bins`` equal time bins covering [0, t_end_s] (one bin of 1 s when empty)."""
    t_end_s = float(t_end_s) if np.isfinite(t_end_s) and t_end_s > 0 else 1.0
    return np.linspace(0.0, t_end_s, bins + 1)


_SPREAD_ROWS = 1 << 18


def spread_over_bins(start_s: Any, duration_s: Any, amount: Any, edges: np.ndarray) -> np.ndarray:
    """Total ``amount`` per bin, each row's amount spread evenly over [start, start+duration).

    The spread is exact: the cumulative amount is piecewise linear between row
    boundaries, so it is evaluated there and interpolated at the bin edges.
    Rows of zero duration land whole in the bin holding their start.
    """
    a = np.asarray(start_s, dtype=float)
    d = np.asarray(duration_s, dtype=float)
    v = np.asarray(amount, dtype=float)
    if a.size > _SPREAD_ROWS:
        # rows add up independently: a slice at a time keeps the ~10 temporaries of twice the
        # rows small (1.8M iterations took ~250 MB at once)
        out = np.zeros(len(edges) - 1)
        for lo in range(0, a.size, _SPREAD_ROWS):
            hi = lo + _SPREAD_ROWS
            out += spread_over_bins(a[lo:hi], d[lo:hi], v[lo:hi], edges)
        return out
    ok = np.isfinite(a) & np.isfinite(d) & np.isfinite(v)
    a, d, v = a[ok], d[ok], v[ok]
    point = d <= 0
    out = np.histogram(a[point], bins=edges, weights=v[point])[0].astype(float)
    a, d, v = a[~point], d[~point], v[~point]
    if a.size:
        rate = v / d
        pos = np.concatenate([a, a + d])
        delta = np.concatenate([rate, -rate])
        order = np.argsort(pos, kind="stable")
        pos, delta = pos[order], delta[order]
        level = np.cumsum(delta)
        cum = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(pos))])
        at_edges = np.interp(edges, pos, cum, left=0.0, right=cum[-1])
        out += np.diff(at_edges)
    return out


def binned_max(time_s: Any, values: Any, *, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Down-sample a step series to at most ``max_points`` by keeping each bin's maximum.

    Short series come back unchanged (sorted by time); peaks are never lost.
    """
    t = np.asarray(time_s, dtype=float)
    y = np.asarray(values, dtype=float)
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    if t.size <= max_points:
        return t, y
    edges = np.linspace(t[0], t[-1], max_points + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, max_points - 1)
    peak = np.full(max_points, -np.inf)
    np.maximum.at(peak, idx, y)
    keep = np.isfinite(peak)
    return edges[:-1][keep], peak[keep]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists -> ``{"kv.tiers[0].capacity": value}`` (leaves only)."""
    out: dict[str, Any] = {}
    if isinstance(data, Mapping):
        if not data and prefix:
            out[prefix] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in data):
        for i, v in enumerate(data):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = list(data) if isinstance(data, tuple) else data
    return out


def tier_hit_ratios(res: Any) -> dict[str, float]:
    """Hit ratio of each KV tier a result reports, in tier order.

    Read from the tiers table's cumulative counters (``hit_blocks`` with
    ``miss_blocks`` or ``lookup_blocks``, last sample per tier) when present,
    else from summary keys ``hit_ratio_<tier>``, ``<tier>_hit_ratio`` or
    ``<tier>_prefix_hit_ratio`` (a lower tier's ratio counts the lookups that
    reached it, i.e. missed the tiers above); the
    prefix cache as a whole (``prefix_hit_ratio``) comes last as ``all tiers``.
    """
    out: dict[str, float] = {}
    tiers = getattr(res, "tiers", None)
    if isinstance(tiers, pd.DataFrame) and not tiers.empty and "hit_blocks" in tiers.columns:
        last = tiers.sort_values("time_s", kind="stable").groupby("tier", sort=False).tail(1)
        for _, row in last.iterrows():
            hits = float(row["hit_blocks"])
            if "lookup_blocks" in last.columns:
                total = float(row["lookup_blocks"])
            elif "miss_blocks" in last.columns:
                total = hits + float(row["miss_blocks"])
            else:
                continue
            if total > 0:
                out[str(row["tier"])] = hits / total
    summary = getattr(res, "summary", {}) or {}
    for key, value in summary.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        tier = None
        if key.startswith("hit_ratio_"):
            tier = key[len("hit_ratio_"):]
        elif key.endswith("_hit_ratio") and not key.startswith("prefix_"):
            tier = key[: -len("_hit_ratio")]
            tier = tier[: -len("_prefix")] if tier.endswith("_prefix") else tier
        if tier and tier not in out and np.isfinite(value):
            out[tier] = float(value)
    pref = summary.get("prefix_hit_ratio")
    if isinstance(pref, (int, float)) and np.isfinite(pref) and out:
        out["all tiers"] = float(pref)
    elif isinstance(pref, (int, float)) and np.isfinite(pref):
        out["prefix cache"] = float(pref)
    return out
