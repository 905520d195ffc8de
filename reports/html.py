"""The HTML report: one file, plotly.js embedded once (or shared, see export), no network.

``render(results, out_path)`` lays out the scenario summary, headline metrics
(a comparison with deltas when there are several results) and every figure the
results have data for, and writes the page atomically.
"""
from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from memsim.ground import __version__
from memsim.sim.result import atomic_write_text

from . import figures as F
from . import tables as T
from ._data import labelled, tier_hit_ratios
from .export import check_image_format, plotly_js_tag, write_images

__all__ = ["render", "build_html", "SECTIONS"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2937;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd5e1;font-size:13px}
nav{padding:8px 28px;background:#eef2f7;font-size:13px}nav a{margin-right:14px;color:#1d4ed8}
main{padding:8px 28px 40px;max-width:1400px}section{background:#fff;border:1px solid #e5e7eb;
border-radius:6px;padding:10px 18px;margin:14px 0}h2{font-size:17px;margin:6px 0 10px}
table.tbl{border-collapse:collapse;font-size:13px;margin:6px 0}table.tbl th,table.tbl td{border:1px
solid #e5e7eb;padding:3px 9px;text-align:left}table.tbl th{background:#f3f4f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}details{margin:6px 0}summary{cursor:pointer;color:#374151}
.note{color:#6b7280;font-size:13px}h3{font-size:15px;margin:12px 0 4px}h4{font-size:13px;margin:8px 0 2px;color:#374151}
table.tbl td{max-width:900px;overflow-wrap:anywhere}table.tbl td:first-child{white-space:nowrap}
"""


def _has_requests(res) -> bool:
    return not res.requests.empty and (res.requests["status"] == "completed").any()


def _has_scheduled(res) -> bool:
    return not res.requests.empty and np.isfinite(res.requests["scheduled_s"].to_numpy(dtype=float)).any()


def _extra(name: str) -> Callable[[Any], bool]:
    return lambda res: name in (res.extras or {}) and not res.extras[name].empty


#: (anchor, title, "has data" test on one result, figure builder over all results)
SECTIONS: tuple[tuple[str, str, Callable[[Any], bool], Callable[[dict], Any]], ...] = (
    ("latency", "Latency CDFs", _has_requests, F.latency_cdfs),
    ("throughput", "Throughput over time", _has_requests, F.throughput_over_time),
    ("batch", "Batch size over time", lambda r: not r.iterations.empty, F.batch_size_over_time),
    ("tiers", "Tier occupancy", lambda r: not r.tiers.empty, F.tier_occupancy),
    ("links", "Link bandwidth", lambda r: not r.links.empty and float(r.links["bytes"].sum()) > 0,
     F.link_bandwidth),
    ("hits", "Hit ratio per tier", lambda r: bool(tier_hit_ratios(r)), F.hit_ratio_per_tier),
    ("timeline", "Request timeline", _has_scheduled, F.request_timeline),
    ("mrc", "Miss-ratio curves", _extra("mrc"), F.miss_ratio_curve),
)


def _figure_html(fig, n: int) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{n}",
                       config={"displaylogo": False, "responsive": True})


def _scenario_block(res_by: dict) -> str:
    parts = [T.to_html(T.scenario_overview(res_by))]
    if len(res_by) > 1:
        diff = T.scenario_diff(res_by)
        parts.append("<h3>What differs</h3>" + (T.to_html(diff) if not diff.empty else
                                                 '<p class="note">The scenarios are identical.</p>'))
    for label, res in res_by.items():
        table = T.scenario_table(res.scenario)
        if table.empty:
            parts.append(f'<p class="note">{html.escape(label)}: no scenario recorded.</p>')
            continue
        blocks = [f"<h4>{html.escape(str(section))}</h4>{T.to_html(rows[['field', 'value']])}"
                  for section, rows in table.groupby("section", sort=False)]
        name = "the full scenario" + (f" of {label}" if len(res_by) > 1 else "")
        parts.append(f"<details><summary>{html.escape(name)}</summary>{''.join(blocks)}</details>")
    return "".join(parts)


def _metrics_block(res_by: dict) -> str:
    if len(res_by) == 1:
        res = next(iter(res_by.values()))
        return (T.to_html(T.headline_table(res, notes=True)) + "<details><summary>all metrics</summary>"
                + T.to_html(T.headline_table(res, all_metrics=True, notes=True)) + "</details>" + _METRICS_DOC)
    return (T.to_html(T.comparison_table(res_by, notes=True)) + "<details><summary>all metrics</summary>"
            + T.to_html(T.comparison_table(res_by, all_metrics=True, notes=True)) + "</details>" + _METRICS_DOC)


def _replicas_block(res_by: dict) -> str:
    """One row per replica of each cluster run (its ``replicas`` table: docs/cluster.md)."""
    parts = []
    for label, res in res_by.items():
        df = res.extras["replicas"].copy()
        for c in df.columns:
            if df[c].dtype.kind == "f":
                df[c] = df[c].map(lambda v: f"{v:.4g}")
        if len(res_by) > 1:
            parts.append(f"<h4>{html.escape(label)}</h4>")
        parts.append(T.to_html(df))
    return "".join(parts) + ('<p class="note">busy_fraction: share of the run with an iteration in progress; '
                             'prefix_hit_ratio: prefix blocks found in the replica\'s HBM / blocks looked up.</p>')


_METRICS_DOC = ('<p class="note">Every metric is defined in docs/metrics.md. The three prefix-cache '
                'ratios differ: prefix_hit_ratio counts blocks found in any tier, hbm_prefix_hit_ratio '
                'those in HBM, prefix_hit_token_ratio the prompt tokens HBM served.</p>')


def build_html(results: Any, *, title: str | None = None, plotly_js: str = "inline",
               html_path: str | Path | None = None) -> str:
    """The report page as a string (``render`` writes it); ``plotly_js``: inline, cdn or a .js path."""
    return _page(results, title=title, plotly_js=plotly_js, html_path=html_path)[0]


def _page(results: Any, *, title: str | None, plotly_js: str,
          html_path: str | Path | None) -> tuple[str, dict[str, Any]]:
    """The page and its figures by anchor (for static export)."""
    res_by = labelled(results)
    labels = list(res_by)
    if title is None:
        title = f"memsim report: {labels[0]}" if len(labels) == 1 else \
            "memsim comparison: " + " vs ".join(labels)
    body: list[tuple[str, str, str]] = [
        ("scenario", "Scenario", _scenario_block(res_by)),
        ("metrics", "Headline metrics" if len(labels) == 1 else "Comparison (Δ against the first)",
         _metrics_block(res_by)),
    ]
    clusters = {k: r for k, r in res_by.items() if _extra("replicas")(r)}
    if clusters:   # a cluster run: its per-replica panel
        body.append(("replicas", "Replicas", _replicas_block(clusters)))
    figs: dict[str, Any] = {}
    missing: list[str] = []
    n = 0
    for anchor, name, has, build in SECTIONS:
        present = {k: r for k, r in res_by.items() if has(r)}
        if not present:
            missing.append(name)
            continue
        n += 1
        figs[anchor] = build(present)
        body.append((anchor, name, _figure_html(figs[anchor], n)))
    for label, res in res_by.items():
        if not _extra("attention_io")(res):
            continue
        try:
            fig = F.attention_io(res)
        except ModuleNotFoundError as e:
            if e.name != "memsim.reports.figures_attention":
                raise
            body.append((f"attn-{n}", f"Attention I/O: {label}",
                         '<p class="note">reports.figures_attention is not installed.</p>'))
            continue
        n += 1
        figs[f"attn-{n}"] = fig
        body.append((f"attn-{n}", f"Attention I/O: {label}" if len(labels) > 1 else "Attention I/O",
                     _figure_html(fig, n)))
    if not any(a.startswith("attn") for a, _, _ in body):
        missing.append("Attention I/O")
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in body)
    sections_html = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{content}</section>'
                            for a, t, content in body)
    if missing:
        sections_html += ('<p class="note">Not in these results (no data): '
                          + html.escape(", ".join(missing)) + ".</p>")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"{plotly_js_tag(plotly_js, html_path)}</head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>memsim {html.escape(__version__)} · "
        f"{len(labels)} result{'s' if len(labels) > 1 else ''} · {stamp}</p></header>"
        f"<nav>{nav}</nav><main>{sections_html}</main></body></html>\n"
    )
    return page, figs


#: the columns of the large tables that the report's figures read
_REPORT_COLUMNS = {
    "requests": ("request_id", "status", "arrival_s", "scheduled_s", "load_s", "first_token_s",
                 "finish_s", "ttft_s", "tpot_s", "e2e_s", "generated_tokens"),
    "iterations": ("start_s", "duration_s", "batch_size"),
}


class _ReportView:
    """A Result as the report reads it: a table the engine spilled to disk is read back only
    in the columns the figures use, one column at a time, so writing report.html does not
    bring the whole run back into memory (a 2M-request run's peak RSS tripled)."""

    def __init__(self, res: Any):
        self._res = res
        self._frames: dict[str, pd.DataFrame] = {}

    def __getattr__(self, name: str):
        if name in _REPORT_COLUMNS:
            if name not in self._frames:
                self._frames[name] = self._slim(name)
            return self._frames[name]
        return getattr(self._res, name)

    def _slim(self, name: str) -> pd.DataFrame:
        res = self._res
        src = (getattr(res, "_sources", None) or {}).get(name)
        if src is None or (getattr(res, "_tables", None) or {}).get(name) is not None:
            return getattr(res, name)          # in memory already: nothing to save
        have = set(src.schema.names)
        return pd.DataFrame({c: src.categories(c) if c == "status" else src.column(c)
                             for c in _REPORT_COLUMNS[name] if c in have})


def render(results: Any, out_path: str | Path, *, title: str | None = None, plotly_js: str = "inline",
           image_format: str | None = None) -> Path:
    """Write the report for one Result, a list or a ``{label: Result}`` dict; return its path.

    By default the file is self-contained (plotly.js inline, no external URLs);
    ``plotly_js="cdn"`` or a ``.js`` path makes it small (see ``reports.export``).
    With ``image_format`` (png, svg, pdf) each figure is also written as an image
    in ``<report stem>-figures/`` beside the page.  Files are written atomically,
    so a reader never sees half a report.
    """
    out = Path(out_path)
    check_image_format(image_format)
    results = {label: _ReportView(r) for label, r in labelled(results).items()}
    page, figs = _page(results, title=title, plotly_js=plotly_js, html_path=out)
    atomic_write_text(out, page)
    if image_format:
        folder = out.with_name(f"{out.stem}-figures")
        write_images({folder / f"{anchor}.{image_format}": fig for anchor, fig in figs.items()})
    return out
