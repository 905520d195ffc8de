"""The budget-vs-recall figure: one line per compression policy.

Input is ``memsim.sim.compress.recall_curves``'s DataFrame; output a plotly figure with recall
against the token budget (left) and against resident KV bytes as a share of a full cache
(right), where quantized formats, which keep every token, also have a place.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["recall_figure"]


def recall_figure(df, *, title: str = "Attention-mass recall vs KV budget") -> go.Figure:
    """Recall vs ``budget_fraction`` and vs ``resident_fraction`` for each ``policy`` in ``df``."""
    missing = {"policy", "budget_fraction", "recall", "resident_fraction"} - set(df.columns)
    if missing:
        raise ValueError(f"recall_figure: missing columns {sorted(missing)}")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("recall vs token budget",
                                                        "recall vs resident KV bytes"))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"]
    for i, (pol, g) in enumerate(df.groupby("policy", sort=False)):
        color = palette[i % len(palette)]
        g = g.sort_values("budget_fraction")
        fig.add_trace(go.Scatter(x=g["budget_fraction"], y=g["recall"], mode="lines+markers",
                                 name=pol, legendgroup=pol, line={"color": color}), row=1, col=1)
        fig.add_trace(go.Scatter(x=g["resident_fraction"], y=g["recall"], mode="lines+markers",
                                 name=pol, legendgroup=pol, showlegend=False, line={"color": color}),
                      row=1, col=2)
    fig.update_xaxes(type="log", title="budget (tokens per layer-head / mean context)", row=1, col=1)
    fig.update_xaxes(type="log", title="resident KV bytes / full cache", row=1, col=2)
    fig.update_yaxes(title="attention-mass recall", range=[0, 1.02])
    # a legend below the panels, in rows: a vertical one beside them cuts off past ~11 policies
    rows = -(-df["policy"].nunique() // 6)
    fig.update_layout(title=title, template="plotly_white", height=480 + 24 * rows,
                      legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(b=100 + 24 * rows))
    return fig
