"""``memsim validate --kernels``: a hardware file's kernel predictions against measured tables.

Predictions are taken as they are (nothing is fitted here): each row of the profile is timed
by ``KernelTimer`` (its tables, then the analytic model), or with ``no_tables`` by the
analytic model alone, scored then only on the rows outside the fit's training split.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from memsim.ground.files import atomic_write_text
from memsim.hwmodels import load_platform, load_profile
from memsim.sim.timing import KernelTimer

from . import kernelfit as kf

__all__ = ["check_kernels", "timer_predict", "affine_score", "write_plot"]


def timer_predict(timer: KernelTimer, kind: str, df: pd.DataFrame) -> np.ndarray:
    """The timer's seconds for every row of a table of ``kind``."""
    if kind == "gemm":
        out = np.empty(len(df))
        for (n, k), idx in df.groupby(["n", "k"]).indices.items():
            out[idx] = timer.gemm(df["m"].to_numpy()[idx], int(n), int(k))
        return out
    if kind == "all_reduce":
        out = np.empty(len(df))
        for g, idx in df.groupby("num_gpus").indices.items():
            out[idx] = timer.all_reduce(df["message_elems"].to_numpy()[idx] * 2.0, int(g))
        return out
    out = np.empty(len(df))
    length = "seq_len" if kind == "context_attention" else "kv_len"
    fn = timer.context_attention if kind == "context_attention" else timer.generation_attention
    for key, idx in df.groupby(["num_heads", "num_key_value_heads", "head_dim", "kv_cache_dtype",
                                "window_size"]).indices.items():
        h, hk, d, dt, w = key
        out[idx] = fn(df["batch_size"].to_numpy()[idx], df[length].to_numpy()[idx], int(h), int(hk), int(d),
                      kv_dtype=str(dt), window=int(w))
    return out


def check_kernels(kernels_dir: str | Path, hw: str, *, no_tables: bool = False, worst: int = 5) -> tuple[dict, dict]:
    """(report, {kind: DataFrame with predicted_s}) for every table in ``kernels_dir``."""
    platform = load_platform(hw)
    timer = KernelTimer(platform, use_tables=not no_tables)
    t = platform.compute.timing
    src = t.attention_kernel if t is not None else None
    tables = load_profile(kernels_dir)
    report = {"hw": platform.name, "ops": {}}
    frames = {}
    for kind, df in tables.items():
        sources = sorted(df["kernel_source"].unique()) if "kernel_source" in df.columns else []
        pick = src if src in sources else (sources[0] if len(sources) == 1 else None)
        rows = kf.rows_for(kind, df, pick)
        if sources and pick is None:
            continue                      # several kernels and none named: nothing to compare
        if no_tables:
            rows = rows[kf.split(kind, rows)].reset_index(drop=True)
        before = timer.fallbacks[kind]
        pred = timer_predict(timer, kind, rows)
        entry = kf.score(kind, rows, pred, worst=worst)
        entry["analytic_rows"] = int(timer.fallbacks[kind] - before) if not no_tables else int(len(rows))
        if pick is not None:
            entry["kernel_source"] = pick
        report["ops"][kind] = entry
        frames[kind] = rows.assign(predicted_s=pred, measured_s=rows["latency_ms"] * 1e-3)
    gen = frames.get("generation_attention")
    if gen is not None and not no_tables:
        report["engine_decode_affine"] = affine_score(timer, gen)
    report["timing"] = timer.source if not no_tables else f"analytic {timer.analytic_source} (--no-tables)"
    report["scored_rows"] = "held-out split only" if no_tables else "all rows of the platform's kernel source"
    return report, frames


def affine_score(timer: KernelTimer, df: pd.DataFrame) -> dict:
    """Error of the engine's affine decode attention (``a(n) + b(n) S`` per batch size, what
    closed-form decode runs use) against the rows with 64..131072 KV tokens."""
    rows = df[(df["kv_len"] >= 64) & (df["window_size"] == 0)].reset_index(drop=True)
    pred = np.empty(len(rows))
    keys = ["num_heads", "num_key_value_heads", "head_dim", "kv_cache_dtype", "batch_size"]
    for (h, hk, d, dt, b), idx in rows.groupby(keys).indices.items():
        a, slope = timer.generation_affine(int(b), int(h), int(hk), int(d), kv_dtype=str(dt))
        pred[idx] = a + slope * b * rows["kv_len"].to_numpy()[idx]
    return kf.score("generation_attention", rows, pred, worst=0)


def write_plot(path: Path, frames: dict, title: str) -> Path:
    """Self-contained HTML: predicted vs measured, log-log, one panel per kernel kind."""
    kinds = list(frames)
    fig = make_subplots(rows=1, cols=max(1, len(kinds)), subplot_titles=kinds)
    for i, kind in enumerate(kinds, start=1):
        df = frames[kind]
        if len(df) > 20000:               # keep the file small: an even sample of the rows
            df = df.iloc[np.linspace(0, len(df) - 1, 20000).astype(int)]
        fig.add_trace(go.Scattergl(x=df["measured_s"] * 1e6, y=df["predicted_s"] * 1e6, mode="markers",
                                   marker={"size": 3, "opacity": 0.4}, name=kind, showlegend=False), row=1, col=i)
        lo, hi = float(df["measured_s"].min() * 1e6), float(df["measured_s"].max() * 1e6)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "gray"},
                                 showlegend=False), row=1, col=i)
        fig.update_xaxes(type="log", title_text="measured us", row=1, col=i)
        fig.update_yaxes(type="log", title_text="predicted us", row=1, col=i)
    fig.update_layout(title=title, height=480, width=max(480, 420 * len(kinds)))
    atomic_write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))
    return path
