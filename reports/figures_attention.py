"""The attention I/O-vs-fast-memory figure: one log-log line per algorithm, plus the bound.

Input is ``memsim.sim.kernel.sweep``'s DataFrame; output a plotly figure the report
embeds.  A vertical line marks M = d^2, where the optimal algorithm changes.
"""
from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["attention_io_figure"]

_NAMES = {"naive": "naive (S, P in HBM)", "flash1": "FlashAttention-1", "flash2": "FlashAttention-2",
          "small_m": "small-M (I/O-complexity paper)", "chunked": "chunked (Rabe & Staats)"}


def attention_io_figure(df) -> go.Figure:
    """Log-log I/O (elements) vs fast memory M (elements) for each ``algo`` in ``df``.

    ``df`` needs columns ``algo, n, d, m_elems, io, lower_bound``; one (n, d) pair.
    The lower bound is drawn once (from the rows of any algorithm, deduplicated by M).
    """
    missing = {"algo", "n", "d", "m_elems", "io", "lower_bound"} - set(df.columns)
    if missing:
        raise ValueError(f"attention_io_figure: missing columns {sorted(missing)}")
    fig = go.Figure()
    for algo, g in df.groupby("algo", sort=False):
        g = g.sort_values("m_elems")
        fig.add_trace(go.Scatter(x=g["m_elems"], y=g["io"], mode="lines+markers",
                                 name=_NAMES.get(algo, algo)))
    lb = df.drop_duplicates("m_elems").sort_values("m_elems")
    fig.add_trace(go.Scatter(x=lb["m_elems"], y=lb["lower_bound"], mode="lines",
                             name="lower bound", line={"dash": "dash", "color": "black"}))
    title = "Attention I/O vs fast-memory size"
    if len(df):
        n, d = int(df["n"].iloc[0]), int(df["d"].iloc[0])
        title += f" (N={n}, d={d})"
        fig.add_vline(x=d * d, line={"dash": "dot", "color": "grey"},
                      annotation_text="M = d²", annotation_position="top")
    fig.update_xaxes(type="log", title="fast memory M (elements)")
    fig.update_yaxes(type="log", title="HBM ↔ SRAM transfers (elements)")
    fig.update_layout(title=title, legend={"title": "algorithm"}, template="plotly_white")
    return fig
