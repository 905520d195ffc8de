"""Render ``validation.html``: one self-contained page, plotly.js embedded once.

Predicted vs measured on log axes (one colour per kernel, the y = x line and
+-15% bands), the error distribution (histogram and CDF), the calibrated host
levels and a per-configuration table.  No network access is needed to view it.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .calibrate import Calibration

__all__ = ["render", "write_report"]


def _fig_html(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})


def _scatter(df: pd.DataFrame):
    import plotly.graph_objects as go
    fig = go.Figure()
    for kernel, g in df.groupby("kernel", sort=False):
        fig.add_trace(go.Scatter(x=g["measured_s"], y=g["predicted_s"], mode="markers", name=kernel,
                                 text=g["params"], hovertemplate="%{text}<br>measured %{x:.3g} s"
                                 "<br>predicted %{y:.3g} s<extra>" + html.escape(kernel) + "</extra>"))
    lo = float(min(df["measured_s"].min(), df["predicted_s"].min())) / 1.5
    hi = float(max(df["measured_s"].max(), df["predicted_s"].max())) * 1.5
    for f, dash, name in ((1.0, "solid", "y = x"), (1.15, "dot", "+15%"), (0.85, "dot", "-15%")):
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo * f, hi * f], mode="lines", name=name,
                                 line={"color": "grey", "dash": dash, "width": 1}, hoverinfo="skip"))
    fig.update_layout(title="Predicted vs measured time", xaxis_title="measured (s)",
                      yaxis_title="predicted (s)", height=560, template="plotly_white")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig


def _errors(df: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    err = df["rel_error"].dropna() * 100
    fig = make_subplots(rows=1, cols=2, subplot_titles=("relative error (%)", "CDF of |relative error| (%)"))
    fig.add_trace(go.Histogram(x=err, nbinsx=30, name="rel. error"), row=1, col=1)
    a = np.sort(np.abs(err.to_numpy()))
    fig.add_trace(go.Scatter(x=a, y=np.arange(1, len(a) + 1) / max(len(a), 1), mode="lines+markers",
                             name="CDF", line_shape="hv"), row=1, col=2)
    fig.update_layout(height=380, template="plotly_white", showlegend=False)
    return fig


def _table(df: pd.DataFrame, cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r.get(c)
            if c == "rel_error" and pd.notna(v):
                cls = "bad" if abs(v) > 0.4 else ("warn" if abs(v) > 0.15 else "ok")
                cells.append(f'<td class="{cls}">{v * 100:+.1f}%</td>')
            elif isinstance(v, float) and pd.notna(v):
                cells.append(f"<td>{v:.4g}</td>")
            else:
                cells.append(f"<td>{'' if v is None or (not isinstance(v, str) and pd.isna(v)) else html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(df: pd.DataFrame, cal: Calibration, summary: dict, *, command: str = "",
           gpu: pd.DataFrame | None = None) -> str:
    """The whole page as a string."""
    from plotly.offline import get_plotlyjs
    levels = pd.DataFrame([{"level": lv.name, "kind": lv.kind, "capacity_bytes": lv.capacity_bytes,
                            "read_GB_per_s": lv.read_bytes_per_s / 1e9, "latency_ns": lv.latency_s * 1e9,
                            "overlap": lv.overlap, "probe_bytes": lv.probe_bytes}
                           for lv in cal.levels])
    rates = {k: v for k, v in cal.rates.items() if isinstance(v, float)}
    by_kernel = (df.assign(abs_err=df["rel_error"].abs()).groupby("kernel", sort=False)["abs_err"]
                 .agg(["count", "median", "max"]).reset_index())
    for col in ("median", "max"):
        by_kernel[col] = [f"{x * 100:.1f}%" for x in by_kernel[col]]
    by_kernel = by_kernel.rename(columns={"count": "configs", "median": "median abs(rel. error)",
                                          "max": "worst abs(rel. error)"})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>memsim validation</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px}"
        "th{background:#f4f4f4}.ok{background:#e6f4ea}.warn{background:#fff4d6}.bad{background:#fde2e1}"
        "code{background:#f4f4f4;padding:1px 4px}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        "<h1>memsim validation: predicted vs measured kernels</h1>",
        f"<p>Host: {html.escape(cal.cpu)}, {cal.cores} cores. Command: <code>{html.escape(command)}</code></p>",
        f"<p><b>{summary['configs']}</b> configurations; median |relative error| "
        f"<b>{summary['median_abs_rel_error'] * 100:.1f}%</b>, 90th percentile "
        f"<b>{summary['p90_abs_rel_error'] * 100:.1f}%</b>, worst {summary['max_abs_rel_error'] * 100:.1f}%. "
        f"Instrumented tile-load counts equal the simulator's in {summary['counted_configs']} of "
        f"{summary['counted_configs']} configurations: <b>{'yes' if summary['counts_exact'] else 'NO'}</b>.</p>",
        _fig_html(_scatter(df)), _fig_html(_errors(df)),
        "<h2>Error by kernel</h2>", _table(by_kernel, list(by_kernel.columns)),
        "<h2>Calibrated host levels</h2>",
        _table(levels, list(levels.columns)),
        "<p>Inner-loop rates: " + ", ".join(f"{html.escape(k)} = {v:.4g}" for k, v in rates.items()) + "</p>",
        "".join(f"<p>Note: {html.escape(n)}</p>" for n in cal.notes),
        "<h2>Every configuration</h2>",
        _table(df, ["kernel", "params", "measured_s", "spread", "predicted_s", "rel_error", "measured_elems",
                    "predicted_elems", "level", "accounting"]),
    ]
    if gpu is not None and len(gpu):
        parts += ["<h2>Stored GPU measurements (validate/measurements)</h2>",
                  _table(gpu, [c for c in ("kernel", "params", "device", "measured_s", "predicted_s",
                                           "rel_error", "measured_elems", "predicted_elems", "file")
                               if c in gpu.columns])]
    else:
        parts.append("<h2>Stored GPU measurements</h2><p>None stored in validate/measurements/ "
                     "(run <code>memsim validate --cuda</code> on a GPU machine to add some).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, df: pd.DataFrame, cal: Calibration, summary: dict, *,
                 command: str = "", gpu: pd.DataFrame | None = None) -> Path:
    """Write :func:`render`'s page to ``path``."""
    path = Path(path)
    path.write_text(render(df, cal, summary, command=command, gpu=gpu), encoding="utf-8")
    return path
