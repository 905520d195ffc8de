"""Plotly figures of simulation results: the same ones the HTML report embeds.

Each function takes one Result, a list of them or a ``{label: Result}`` dict and
returns a ``plotly.graph_objects.Figure``; several results are overlaid, one
colour per result.  ``sweep_metric`` and ``compare_bars`` plot the DataFrames
``memsim.studies.compare`` and ``memsim sweep`` produce.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ._data import binned_max, ecdf, labelled, spread_over_bins, tier_hit_ratios, time_edges
from .figures_attention import attention_io_figure

__all__ = ["latency_cdfs", "throughput_over_time", "batch_size_over_time", "tier_occupancy",
           "link_bandwidth", "hit_ratio_per_tier", "request_timeline", "miss_ratio_curve",
           "attention_io", "sweep_metric", "compare_bars", "COLORS"]

COLORS = qualitative.Plotly
GIB = float(1 << 30)
_PHASES = (("queue", "#b0b0b0"), ("load", "#ab63fa"), ("prefill", "#ef553b"), ("decode", "#636efa"))


def _layout(fig: go.Figure, *, title: str, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=height,
                      margin=dict(l=60, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.18),
                      **kw)
    return fig


def _color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def _t_end(res) -> float:
    req = res.requests
    ends = [float(res.summary.get("sim_time_s", np.nan) or np.nan)]
    if not req.empty:
        ends.append(float(np.nanmax(req[["arrival_s", "finish_s"]].to_numpy(dtype=float))))
    ends = [e for e in ends if np.isfinite(e)]
    return max(ends) if ends else 1.0


def latency_cdfs(results: Any) -> go.Figure:
    """CDFs of TTFT, TPOT and end-to-end latency over completed requests.

    A panel whose values span more than two decades gets a log time axis.
    """
    res_by = labelled(results)
    cols = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "end-to-end"))
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in cols], horizontal_spacing=0.07)
    span: dict[int, list[float]] = {j: [] for j in range(1, 4)}
    for i, (label, res) in enumerate(res_by.items()):
        req = res.requests
        # one column at a time: filtering the whole table would copy every column of a big run
        done = (req["status"] == "completed").to_numpy() if not req.empty else None
        for j, (col, _) in enumerate(cols, start=1):
            if col not in req.columns:
                continue
            x, f = ecdf(req[col].to_numpy()[done] if done is not None else req[col].to_numpy())
            span[j] += [float(v) for v in x[x > 0][[0, -1]]] if (x > 0).any() else []
            fig.add_trace(go.Scatter(x=x, y=f, mode="lines", name=label, legendgroup=label,
                                     showlegend=j == 1, line=dict(color=_color(i), shape="hv")),
                          row=1, col=j)
    for j, vals in span.items():
        wide = bool(vals) and max(vals) > 100 * min(vals)
        fig.update_xaxes(title_text="seconds", type="log" if wide else "linear", row=1, col=j)
    fig.update_yaxes(title_text="fraction of requests", range=[0, 1.02], row=1, col=1)
    return _layout(fig, title="Latency CDFs (completed requests)")


def throughput_over_time(results: Any, *, bins: int = 200) -> go.Figure:
    """Generated tokens per second of simulated time.

    Each request's first token counts at ``first_token_s`` and its remaining
    tokens spread evenly up to ``finish_s`` (per-token times are derived, not
    simulated), so the curve integrates to the tokens generated.
    """
    res_by = labelled(results)
    fig = go.Figure()
    for i, (label, res) in enumerate(res_by.items()):
        req = res.requests
        edges = time_edges(_t_end(res), bins=bins)
        if not req.empty:
            first = req["first_token_s"].to_numpy(dtype=float)
            fin = req["finish_s"].to_numpy(dtype=float)
            gen = req["generated_tokens"].to_numpy(dtype=float)
            tok = spread_over_bins(first, np.zeros_like(first), np.minimum(gen, 1.0), edges)
            tok += spread_over_bins(first, fin - first, np.maximum(gen - 1.0, 0.0), edges)
        else:
            tok = np.zeros(bins)
        fig.add_trace(go.Scatter(x=edges[:-1], y=tok / np.diff(edges), mode="lines", name=label,
                                 line=dict(color=_color(i), shape="hv")))
    fig.update_xaxes(title_text="simulated time (s)")
    fig.update_yaxes(title_text="generated tokens/s", rangemode="tozero")
    return _layout(fig, title="Throughput over time")


def batch_size_over_time(results: Any, *, bins: int = 200) -> go.Figure:
    """Time-weighted mean batch size per time bin (from the iterations table)."""
    res_by = labelled(results)
    fig = go.Figure()
    for i, (label, res) in enumerate(res_by.items()):
        it = res.iterations
        edges = time_edges(_t_end(res), bins=bins)
        if it.empty:
            continue
        d = it["duration_s"].to_numpy(dtype=float)
        busy = spread_over_bins(it["start_s"], d, d, edges)
        weighted = spread_over_bins(it["start_s"], d, it["batch_size"].to_numpy(dtype=float) * d, edges)
        mean = np.divide(weighted, busy, out=np.zeros_like(busy), where=busy > 0)
        fig.add_trace(go.Scatter(x=edges[:-1], y=mean, mode="lines", name=label,
                                 line=dict(color=_color(i), shape="hv")))
    fig.update_xaxes(title_text="simulated time (s)")
    fig.update_yaxes(title_text="requests in batch", rangemode="tozero")
    return _layout(fig, title="Batch size over time")


def _grid(keys: Sequence[str], title: str) -> go.Figure:
    rows = max(1, len(keys))
    return make_subplots(rows=rows, cols=1, shared_xaxes=True, subplot_titles=list(keys) or [title],
                         vertical_spacing=min(0.12, 0.5 / rows))


def tier_occupancy(results: Any) -> go.Figure:
    """Bytes used in each tier over time (GiB), one panel per tier; dotted: capacity."""
    res_by = labelled(results)
    tiers: list[str] = []
    for res in res_by.values():
        if not res.tiers.empty:
            tiers += [t for t in pd.unique(res.tiers["tier"].astype(str)) if t not in tiers]
    fig = _grid(tiers, "tiers")
    for i, (label, res) in enumerate(res_by.items()):
        if res.tiers.empty:
            continue
        for r, tier in enumerate(tiers, start=1):
            rows = res.tiers[res.tiers["tier"].astype(str) == tier]
            if rows.empty:
                continue
            t, used = binned_max(rows["time_s"], rows["used_bytes"])
            fig.add_trace(go.Scatter(x=t, y=used / GIB, mode="lines", name=label, legendgroup=label,
                                     showlegend=r == 1, line=dict(color=_color(i), shape="hv")),
                          row=r, col=1)
            if "capacity_bytes" in rows.columns:
                cap = float(rows["capacity_bytes"].max())
                if np.isfinite(cap) and cap > 0:
                    fig.add_trace(go.Scatter(x=[t[0], t[-1]], y=[cap / GIB] * 2, mode="lines",
                                             name=f"{label} capacity", legendgroup=label,
                                             showlegend=False, hoverinfo="name+y",
                                             line=dict(color=_color(i), dash="dot", width=1)),
                                  row=r, col=1)
            fig.update_yaxes(title_text="GiB", rangemode="tozero", row=r, col=1)
    fig.update_xaxes(title_text="simulated time (s)", row=max(1, len(tiers)), col=1)
    return _layout(fig, title="Tier occupancy", height=max(300, 220 * len(tiers) + 120))


def link_bandwidth(results: Any, *, bins: int = 200) -> go.Figure:
    """Bandwidth used on each link and direction over time (GB/s), one panel each.

    Links and directions that carried no bytes in any result get no panel.
    """
    res_by = labelled(results)
    keys: list[str] = []

    def key_of(df):
        d = df["direction"].astype(str) if "direction" in df.columns else pd.Series("", index=df.index)
        return df["link"].astype(str) + np.where(d != "", " (" + d + ")", "")

    for res in res_by.values():
        if not res.links.empty:
            moved = res.links.groupby(key_of(res.links), sort=False)["bytes"].sum()
            keys += [k for k, b in moved.items() if b > 0 and k not in keys]
    fig = _grid(keys, "links")
    for i, (label, res) in enumerate(res_by.items()):
        links = res.links
        if links.empty:
            continue
        edges = time_edges(_t_end(res), bins=bins)
        k_all = key_of(links)
        for r, key in enumerate(keys, start=1):
            rows = links[k_all == key]
            if rows.empty:
                continue
            if "start_s" in rows.columns and "end_s" in rows.columns:
                start = rows["start_s"].to_numpy(dtype=float)
                moved = spread_over_bins(start, rows["end_s"].to_numpy(dtype=float) - start,
                                         rows["bytes"], edges)
            else:
                moved = spread_over_bins(rows["time_s"], np.zeros(len(rows)), rows["bytes"], edges)
            fig.add_trace(go.Scatter(x=edges[:-1], y=moved / np.diff(edges) / 1e9, mode="lines",
                                     name=label, legendgroup=label, showlegend=r == 1,
                                     line=dict(color=_color(i), shape="hv")), row=r, col=1)
            fig.update_yaxes(title_text="GB/s", rangemode="tozero", row=r, col=1)
    fig.update_xaxes(title_text="simulated time (s)", row=max(1, len(keys)), col=1)
    return _layout(fig, title="Link bandwidth", height=max(300, 200 * len(keys) + 120))


def hit_ratio_per_tier(results: Any) -> go.Figure:
    """Fraction of looked-up KV blocks found in each tier (bars, one colour per result)."""
    res_by = labelled(results)
    fig = go.Figure()
    for i, (label, res) in enumerate(res_by.items()):
        ratios = tier_hit_ratios(res)
        fig.add_trace(go.Bar(x=list(ratios), y=list(ratios.values()), name=label,
                             marker_color=_color(i), text=[f"{v:.1%}" for v in ratios.values()],
                             textposition="outside"))
    fig.update_yaxes(title_text="hits / lookups reaching the tier", tickformat=".0%", range=[0, 1.1])
    return _layout(fig, title="Hit ratio per tier", barmode="group")


def _phases(req: pd.DataFrame) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    arr = req["arrival_s"].to_numpy(dtype=float)
    sched = req["scheduled_s"].to_numpy(dtype=float)
    first = req["first_token_s"].to_numpy(dtype=float)
    fin = req["finish_s"].to_numpy(dtype=float)
    load = req["load_s"].to_numpy(dtype=float) if "load_s" in req.columns else np.zeros(len(req))
    load = np.nan_to_num(load)
    spans = {"queue": (arr, sched), "load": (sched, sched + load),
             "prefill": (sched + load, first), "decode": (first, fin)}
    return [(name, color, *spans[name]) for name, color in _PHASES]


def request_timeline(results: Any, *, sample: int = 40) -> go.Figure:
    """Queue, KV load, prefill and decode of a sample of requests as horizontal bars.

    The sample is ``sample`` requests evenly spaced in arrival order among those
    that were scheduled, drawn top to bottom by arrival; one panel per result.
    """
    res_by = labelled(results)
    fig = make_subplots(rows=len(res_by), cols=1, subplot_titles=list(res_by),
                        vertical_spacing=min(0.1, 0.4 / len(res_by)))
    for r, res in enumerate(res_by.values(), start=1):
        req = res.requests
        if req.empty:
            continue
        # positions, not frames: filtering and sorting the whole table would copy it twice
        pos = np.flatnonzero(np.isfinite(req["scheduled_s"].to_numpy(dtype=float)))
        pos = pos[np.lexsort((req["request_id"].to_numpy()[pos], req["arrival_s"].to_numpy()[pos]))]
        if len(pos) > sample:
            pos = pos[np.unique(np.linspace(0, len(pos) - 1, sample).round().astype(int))]
        req = req.iloc[pos]
        ylab = [f"req {i}" for i in req["request_id"]]
        for name, color, start, end in _phases(req):
            width = end - start
            ok = np.isfinite(width) & (width > 0)
            if not ok.any():
                continue
            fig.add_trace(go.Bar(y=np.asarray(ylab)[ok], x=width[ok], base=start[ok], orientation="h",
                                 name=name, legendgroup=name, showlegend=r == 1, marker_color=color,
                                 hovertemplate="%{y}: " + name + " %{base:.3f}s + %{x:.3f}s<extra></extra>"),
                          row=r, col=1)
        # categories in arrival order, not in order of first appearance (a request that never
        # queued would first appear in the prefill trace, below later arrivals)
        fig.update_yaxes(autorange="reversed", type="category", categoryorder="array", categoryarray=ylab,
                         row=r, col=1)
    fig.update_xaxes(title_text="simulated time (s)", row=len(res_by), col=1)
    return _layout(fig, title="Request timeline (sample)", barmode="overlay",
                   height=max(320, min(sample, 40) * 14 * len(res_by) + 120))


def miss_ratio_curve(results: Any) -> go.Figure:
    """Miss ratio against cache capacity from each result's ``extras['mrc']`` table.

    Accepts capacity columns ``capacity_bytes``, ``capacity_blocks`` (with an
    optional ``block_tokens`` column, named on the axis) or ``capacity``, and
    ``miss_ratio`` or ``hit_ratio``; one line per ``policy``.
    """
    res_by = labelled(results)
    fig = go.Figure()
    xname = "capacity"
    for i, (label, res) in enumerate(res_by.items()):
        mrc = (getattr(res, "extras", {}) or {}).get("mrc")
        if mrc is None or mrc.empty:
            continue
        xcol = next(c for c in ("capacity_bytes", "capacity_blocks", "capacity") if c in mrc.columns)
        unit = {"capacity_bytes": "bytes", "capacity_blocks": "blocks"}.get(xcol)
        if unit == "blocks" and "block_tokens" in mrc.columns and mrc["block_tokens"].nunique() == 1:
            unit = f"blocks of {int(mrc['block_tokens'].iloc[0])} tokens"
        xname = f"capacity ({unit})" if unit else "capacity"
        y = mrc["miss_ratio"] if "miss_ratio" in mrc.columns else 1.0 - mrc["hit_ratio"]
        groups = mrc.groupby("policy", sort=False) if "policy" in mrc.columns else [("", mrc)]
        for j, (policy, rows) in enumerate(groups):
            rows = rows.sort_values(xcol)
            name = f"{label} {policy}".strip() if len(res_by) > 1 else (str(policy) or label)
            fig.add_trace(go.Scatter(x=rows[xcol], y=y.loc[rows.index], mode="lines+markers", name=name,
                                     line=dict(color=_color(i if len(res_by) > 1 else j),
                                               dash=["solid", "dash", "dot", "dashdot"][j % 4]
                                               if len(res_by) > 1 else "solid")))
    fig.update_xaxes(title_text=xname, type="log")
    fig.update_yaxes(title_text="miss ratio", range=[0, 1.02])
    return _layout(fig, title="Miss-ratio curves")


def attention_io(result: Any) -> go.Figure:
    """The attention-I/O figure of one result's ``extras['attention_io']`` table."""
    return attention_io_figure(result.extras["attention_io"])


def sweep_metric(df: pd.DataFrame, x: str, y: str, *, color: str | None = None) -> go.Figure:
    """A metric of a sweep or comparison DataFrame against one parameter, a line per ``color``."""
    for col in (x, y, color):
        if col is not None and col not in df.columns:
            raise KeyError(f"column {col!r} not in the DataFrame; columns: {', '.join(map(str, df.columns))}")
    fig = go.Figure()
    groups = df.groupby(color, sort=False, dropna=False) if color else [(None, df)]
    for i, (key, rows) in enumerate(groups):
        rows = rows.groupby(x, sort=False, dropna=False)[y].mean().reset_index()
        if pd.api.types.is_numeric_dtype(rows[x]):
            rows = rows.sort_values(x)
        fig.add_trace(go.Scatter(x=rows[x], y=rows[y], mode="lines+markers",
                                 name=f"{color}={key}" if color else y, line=dict(color=_color(i))))
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return _layout(fig, title=f"{y} vs {x}")


def compare_bars(df: pd.DataFrame, metrics: Sequence[str], *, label: str = "scenario") -> go.Figure:
    """One bar panel per metric, one bar per row of a comparison DataFrame."""
    labels = df[label].astype(str) if label in df.columns else df.index.astype(str)
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=list(metrics))
    for j, m in enumerate(metrics, start=1):
        fig.add_trace(go.Bar(x=labels, y=df[m], marker_color=[_color(i) for i in range(len(df))],
                             showlegend=False, name=m), row=1, col=j)
    return _layout(fig, title="Comparison")
