"""The training report: one self-contained HTML page of a ``memsim train`` result.

Memory per tier and state class as stacked bars (HBM per accelerator for each
pipeline stage, host tiers for the node) against each tier's capacity, the
step-time breakdown per stage, and the step's timeline (compute and the waits of
each stage's compute stream).  ``render_train(result, path)`` writes it.
"""
from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from memsim.ground import __version__
from memsim.sim.result import atomic_write_text

from .figures import COLORS, GIB
from .html import _CSS

__all__ = ["render_train", "build_train_html", "memory_bars", "step_breakdown", "step_timeline"]

STATES = ("params", "grads", "optimizer", "activations")
_STATE_COLORS = dict(zip(STATES, ("#636efa", "#ef553b", "#00cc96", "#ab63fa")))


def _layout(fig, title: str, height: int = 400, **kw):
    fig.update_layout(title=title, template="plotly_white", height=height,
                      margin=dict(l=70, r=20, t=60, b=60), legend=dict(orientation="h", y=-0.2), **kw)
    return fig


def memory_bars(result) -> go.Figure:
    """Stacked GiB per state class (solid: the states the closed forms count; hatched: buffers)
    on each tier against its capacity: HBM per accelerator (each pipeline stage) on the left,
    the host tiers of the whole node on the right."""
    hbm = next(t["tier"] for t in result.tiers if t["scope"] == "per accelerator")
    stages = sorted({r["stage"] for r in result.memory})
    gpu_cols = [(f"stage {s}" if len(stages) > 1 else "per accelerator", hbm, s) for s in stages]
    host_cols = [(t["tier"], t["tier"], None) for t in result.tiers if t["tier"] != hbm]
    caps = {t["tier"]: t["capacity_bytes"] for t in result.tiers}
    panels = [(gpu_cols, 1)] + ([(host_cols, 2)] if host_cols else [])
    fig = make_subplots(rows=1, cols=len(panels), column_widths=[0.5] * len(panels),
                        subplot_titles=[f"{hbm} per accelerator"] + (["host tiers, whole node"] if host_cols else []))
    for state in STATES:
        for kind, pattern in (("state", ""), ("buffer", "/")):
            for cols, col in panels:
                ys = []
                for _, tier, stage in cols:
                    rows = [r for r in result.memory if r["tier"] == tier and r["state"] == state
                            and r["kind"] == kind and (stage is None or r["stage"] == stage)]
                    ys.append(sum(r["bytes_per_device"] * (1 if stage is not None else r["devices"])
                                  for r in rows) / GIB)
                if any(ys):
                    name = state + (" (buffers)" if kind == "buffer" else "")
                    fig.add_bar(x=[c[0] for c in cols], y=ys, name=name, legendgroup=name,
                                showlegend=not any(d.name == name for d in fig.data),
                                marker=dict(color=_STATE_COLORS[state], pattern_shape=pattern),
                                row=1, col=col)
    for cols, col in panels:
        fig.add_scatter(x=[c[0] for c in cols], y=[caps[c[1]] / GIB for c in cols], mode="markers",
                        name="capacity", legendgroup="capacity", showlegend=col == 1,
                        marker=dict(symbol="line-ew-open", size=40, color="#111", line=dict(width=3)),
                        row=1, col=col)
    fig.update_yaxes(title_text="GiB")
    return _layout(fig, "Memory per tier and state class (GiB)", barmode="stack")


def step_breakdown(result) -> go.Figure:
    """Where each stage's compute stream spends the step: compute, and each exposed wait."""
    reasons = []
    for b in result.breakdown:
        reasons += [k for k in b if k not in reasons]
    fig = go.Figure()
    names = [f"stage {i}" for i in range(len(result.breakdown))]
    for j, reason in enumerate(reasons):
        fig.add_bar(y=names, x=[b.get(reason, 0.0) for b in result.breakdown], name=reason,
                    orientation="h", marker_color=COLORS[j % len(COLORS)])
    return _layout(fig, f"Step time breakdown ({result.summary['step_s']:.4g} s)", barmode="stack",
                   xaxis_title="seconds", height=260 + 40 * len(names))


def _merged(spans):
    """Consecutive spans of one stage and kind joined (a layer-by-layer timeline is too fine)."""
    out = []
    for s, what, t0, t1 in sorted(spans, key=lambda x: (x[0], x[2])):
        if out and out[-1][0] == s and out[-1][1] == what and abs(out[-1][3] - t0) < 1e-12:
            out[-1][3] = t1
        else:
            out.append([s, what, t0, t1])
    return out


def step_timeline(result, *, max_bars: int = 4000) -> go.Figure:
    """Each stage's compute stream over the step: what it computes and what it waits for."""
    spans = _merged(result.spans)[:max_bars]
    kinds = sorted({w for _, w, _, _ in spans})
    fig = go.Figure()
    for j, kind in enumerate(kinds):
        mine = [x for x in spans if x[1] == kind]
        fig.add_bar(y=[f"stage {x[0]}" for x in mine], x=[x[3] - x[2] for x in mine],
                    base=[x[2] for x in mine], orientation="h", name=kind,
                    marker_color=COLORS[j % len(COLORS)])
    return _layout(fig, "Step timeline", barmode="overlay", xaxis_title="seconds",
                   height=240 + 40 * len(result.breakdown))


def _summary_table(result) -> str:
    s = result.summary
    rows = [("model", f"{s['model']} ({s['params_total']:,} parameters)"), ("platform", s["platform"]),
            ("layout", f"dp {s['dp']} x tp {s['tp']} x pp {s['pp']}, ZeRO-{s['zero_stage']}, "
                       f"{s['schedule']}"),
            ("batch", f"{s['global_batch']} x {s['seq_len']} tokens, micro-batch {s['micro_batch']}, "
                      f"{s['grad_accum']} accumulation steps"),
            ("checkpointing", s["checkpointing"]),
            ("placement", "; ".join(f"{k}: " + ", ".join(f"{t} {f:g}" for t, f in v.items())
                                    for k, v in s["placement"].items())),
            ("fits", "yes" if s["fits"] else "NO: over " + ", ".join(
                f"{t} by {v / GIB:.4g} GiB" for t, v in s["over_bytes"].items())),
            ("step time", f"{s['step_s']:.4g} s"), ("tokens/s", f"{s['tokens_per_s']:,.0f}"),
            ("MFU", f"{s['mfu']:.1%} (kernel times: {s['kernels']})")]
    rows += [(f"{t['tier']} ({t['scope']})", f"{t['used_bytes'] / GIB:.4g} of {t['capacity_bytes'] / GIB:.4g} GiB")
             for t in result.tiers]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="tbl">{body}</table>'


def _memory_table(result) -> str:
    head = "<tr><th>stage</th><th>tier</th><th>state</th><th>item</th><th>kind</th>" \
           "<th>GiB per accelerator</th><th>accelerators</th></tr>"
    body = "".join(f"<tr><td>{r['stage']}</td><td>{html.escape(r['tier'])}</td><td>{r['state']}</td>"
                   f"<td>{html.escape(r['item'])}</td><td>{r['kind']}</td>"
                   f'<td class="num">{r["bytes_per_device"] / GIB:.4f}</td><td class="num">{r["devices"]}</td></tr>'
                   for r in result.memory)
    return f'<details><summary>every memory row</summary><table class="tbl">{head}{body}</table></details>'


def build_train_html(result, *, title: str | None = None) -> str:
    import plotly.offline

    title = title or f"memsim training step: {result.summary['model']} on {result.summary['platform']}"
    figs = [memory_bars(result), step_breakdown(result)]
    if result.spans:
        figs.append(step_timeline(result))
    body = [("summary", "Summary", _summary_table(result)),
            ("memory", "Memory", figs[0].to_html(full_html=False, include_plotlyjs=False, div_id="fig-1")
             + _memory_table(result))]
    for i, (anchor, name) in enumerate((("time", "Step time"), ("timeline", "Timeline")), start=1):
        if i < len(figs):
            body.append((anchor, name, figs[i].to_html(full_html=False, include_plotlyjs=False,
                                                       div_id=f"fig-{i + 1}")))
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in body)
    sections = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{c}</section>' for a, t, c in body)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
            f"<script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>memsim {html.escape(__version__)} · {stamp}</p></header>"
            f"<nav>{nav}</nav><main>{sections}</main></body></html>\n")


def render_train(result, out_path: str | Path, *, title: str | None = None) -> Path:
    """Write the training report of ``result`` (a TrainResult) to ``out_path`` atomically."""
    out = Path(out_path)
    atomic_write_text(out, build_train_html(result, title=title))
    return out
