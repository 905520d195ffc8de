"""The report of a sweep: each metric against each swept parameter, and the table of points.

A sweep table (``memsim.studies.sweep``) keeps swept quantities numeric (base
units) with the text as written beside them, so each figure's x axis is in
value order, and its legend and table show the values as the sweep file wrote
them.  With several swept parameters, each figure draws one line per value of
another parameter.
"""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from typing import Any

import pandas as pd

from memsim.ground import __version__
from memsim.ground.files import atomic_write_text

from . import tables as T
from ._data import AS_WRITTEN
from .export import check_image_format, plotly_js_tag, write_images
from .figures import sweep_metric
from .html import _CSS

__all__ = ["sweep_figures", "render_sweep", "AS_WRITTEN"]

def _legend_column(df: pd.DataFrame, param: str) -> str:
    """Colour lines by the text as written ("256 GiB"), not the base-unit number."""
    text = param + AS_WRITTEN
    return text if text in df.columns else param


def sweep_figures(table: pd.DataFrame, params: list[str], metrics: list[str]) -> dict[str, Any]:
    """``{"metric-vs-param": figure}`` for every shown metric and every swept parameter."""
    ok = table[table["error"] == ""] if "error" in table.columns else table
    figs: dict[str, Any] = {}
    varied = [p for p in params if p in ok.columns and ok[p].nunique(dropna=False) > 1]
    for metric in metrics:
        if metric not in ok.columns or not pd.api.types.is_numeric_dtype(ok[metric]):
            continue
        for x in varied:
            others = [p for p in varied if p != x]
            color = _legend_column(ok, others[0]) if others else None
            fig = sweep_metric(ok, x=x, y=metric, color=color)
            if x + AS_WRITTEN in ok.columns:   # tick labels as the sweep file wrote them
                ticks = ok.drop_duplicates(x).sort_values(x)
                fig.update_xaxes(tickvals=ticks[x].tolist(), ticktext=ticks[x + AS_WRITTEN].astype(str).tolist(),
                                 type="log" if (ticks[x] > 0).all() and ticks[x].max() > 8 * ticks[x].min()
                                 else "linear")
            figs[f"{metric}-vs-{x}"] = fig
    return figs


def _points_table(table: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    cols = [p + AS_WRITTEN if p + AS_WRITTEN in table.columns else p for p in params]
    shown = [m for m in metrics if m in table.columns]
    rows = [[str(r[c]) for c in cols] + [T.format_metric(m, r[m]) for m in shown] + [r.get("error", "")]
            for _, r in table.iterrows()]
    return pd.DataFrame(rows, columns=params + shown + ["error"])


def render_sweep(table: pd.DataFrame, params: list[str], metrics: list[str], out_path: str | Path, *,
                 title: str = "memsim sweep", plotly_js: str = "inline", image_format: str | None = None) -> Path:
    """Write the sweep's HTML report (and, with ``image_format``, its figures in ``<stem>-figures/``)."""
    out = Path(out_path)
    check_image_format(image_format)
    figs = sweep_figures(table, params, metrics)
    sections = [("points", "Points", T.to_html(_points_table(table, params, metrics)))]
    for i, (name, fig) in enumerate(figs.items(), start=1):
        sections.append((name, fig.layout.title.text or name,
                         fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{i}",
                                     config={"displaylogo": False, "responsive": True})))
    if not figs:
        sections.append(("none", "Figures", '<p class="note">No parameter takes two values among the '
                                            'finished points: nothing to plot.</p>'))
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{c}</section>' for a, t, c in sections)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style>{plotly_js_tag(plotly_js, out)}</head>"
            f"<body><header><h1>{html.escape(title)}</h1><p>memsim {html.escape(__version__)} · "
            f"{len(table)} points · {stamp}</p></header><nav>{nav}</nav><main>{body}</main></body></html>\n")
    atomic_write_text(out, page)
    if image_format:
        folder = out.with_name(f"{out.stem}-figures")
        write_images({folder / f"{name}.{image_format}": fig for name, fig in figs.items()})
    return out
