"""Tables of a report: headline metrics, comparisons with deltas, scenario summaries.

``comparison_table`` and ``scenario_table`` return DataFrames (handy in a
notebook); ``to_html`` renders any of them as an escaped HTML table, and
``format_metric`` writes a value in the unit its name carries (``_s``, ``_bytes``...).
"""
from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from ._data import flatten, labelled

__all__ = ["HEADLINE", "METRIC_NOTES", "format_metric", "headline_table", "comparison_table", "scenario_table",
           "scenario_overview", "scenario_diff", "to_html"]

#: Metrics shown first, in this order, when a result has them.
HEADLINE = ("requests", "completed", "rejected", "throughput_tok_s", "ttft_p50_s", "ttft_p99_s",
            "tpot_p50_s", "tpot_p99_s", "e2e_p50_s", "e2e_p99_s", "queue_p50_s", "prefix_hit_ratio",
            "hbm_prefix_hit_ratio", "prefix_hit_token_ratio", "preemptions", "sim_time_s", "wall_time_s")

#: What a metric counts, where its name alone misleads (docs/metrics.md has every metric).
METRIC_NOTES = {
    "prefix_hit_ratio": "prompt prefix blocks found cached in any tier (HBM or below) / prefix blocks",
    "hbm_prefix_hit_ratio": "prompt prefix blocks found in HBM only / prefix blocks",
    "prefix_hit_token_ratio": "prompt tokens served from HBM (neither loaded from a lower tier nor "
                              "recomputed) / prompt tokens",
    "throughput_tok_s": "generated tokens per simulated second",
    "ttft_p50_s": "time to first token, median over completed requests (queueing included)",
    "tpot_p50_s": "time per output token after the first, median",
    "sim_time_s": "simulated seconds from the start until the last request finished",
    "wall_time_s": "seconds this machine took to simulate",
    "context_rejected": "requests refused at arrival: prompt >= the model's context window",
    "expert_hit_ratio": "routed experts (per iteration and layer) found in the layer's HBM cache, "
                        "prefetched ones included / all lookups",
    "expert_stall_s_per_token": "seconds layers waited for experts, per iteration (each token of the "
                                "batch waits it)",
    "weights_stall_s": "seconds compute waited for weights streamed from below HBM",
}

#: Scenario sections in the order a reader looks for them.
SECTIONS = ("name", "platform", "hardware", "model", "workload", "scheduler", "kv", "policies")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _seconds(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{v * 1e6:.3g} us"
    if a < 1:
        return f"{v * 1e3:.4g} ms"
    return f"{v:.4g} s"


def _bytes(v: float) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= scale:
            return f"{v / scale:.4g} {unit}"
    return f"{v:.0f} B"


def format_metric(name: str, value: Any) -> str:
    """``ttft_p50_s``, 0.0123 -> ``12.3 ms``; ratios as percentages; NaN as an em dash."""
    if value is None:
        return "—"
    if not _is_number(value):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "—"
    if name.endswith("_bytes_per_s"):
        return f"{v / 1e9:.4g} GB/s"
    if name.endswith("_tok_s") or name.endswith("_per_s"):
        return f"{v:,.1f}/s"
    if name.endswith("_bytes"):
        return _bytes(v)
    if name.endswith("_s"):
        return _seconds(v)
    if "ratio" in name or name.endswith("_fraction") or name.endswith("_util"):
        return f"{v:.2%}"
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:.4g}"


def _ordered_metrics(summaries: list[dict]) -> list[str]:
    keys = [k for k in HEADLINE if any(k in s for s in summaries)]
    for s in summaries:
        keys += [k for k, v in s.items() if k not in keys and (_is_number(v) or v is None)]
    return keys


def headline_table(result: Any, *, all_metrics: bool = False, notes: bool = False) -> pd.DataFrame:
    """``metric, value`` rows of one result's summary (headline ones, or all numeric ones);
    ``notes`` adds a ``what it counts`` column (``METRIC_NOTES``)."""
    s = result.summary
    keys = _ordered_metrics([s]) if all_metrics else [k for k in HEADLINE if k in s]
    df = pd.DataFrame({"metric": keys, "value": [format_metric(k, s[k]) for k in keys]})
    if notes:
        df["what it counts"] = [METRIC_NOTES.get(k, "") for k in keys]
    return df


def comparison_table(results: Any, *, all_metrics: bool = False, formatted: bool = True,
                     notes: bool = False) -> pd.DataFrame:
    """Metrics (rows) of several results (columns), with each later one's change vs the first.

    ``results``: Results as for ``labelled``, or a ``{label: summary dict}``; ``notes`` adds
    a ``what it counts`` column (``METRIC_NOTES``).

    ``Δ label`` is the relative change ``(x - first) / |first|`` as a percentage,
    or the absolute difference when the first value is 0.
    """
    res_by = labelled(results)
    labels = list(res_by)
    sums = [r if isinstance(r, dict) else r.summary for r in res_by.values()]
    keys = _ordered_metrics(sums) if all_metrics else [k for k in HEADLINE if any(k in s for s in sums)]
    rows = []
    for k in keys:
        vals = [s.get(k) for s in sums]
        row: dict[str, Any] = {"metric": k}
        for lab, v in zip(labels, vals):
            row[lab] = format_metric(k, v) if formatted else v
        base = vals[0]
        for lab, v in zip(labels[1:], vals[1:]):
            row[f"Δ {lab}"] = _delta(k, base, v, formatted)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["metric", *labels, *[f"Δ {lab}" for lab in labels[1:]]])
    if notes:
        df["what it counts"] = [METRIC_NOTES.get(k, "") for k in keys]
    return df


def _delta(name: str, base: Any, v: Any, formatted: bool) -> Any:
    if not (_is_number(base) and _is_number(v)) or math.isnan(float(base)) or math.isnan(float(v)):
        return "—" if formatted else float("nan")
    b, x = float(base), float(v)
    if b == 0:
        d = x - b
        if not formatted:
            return d
        return "0" if d == 0 else ("+" if d > 0 else "−") + format_metric(name, abs(d))
    rel = (x - b) / abs(b)
    return f"{rel:+.1%}" if formatted else rel


def scenario_table(scenario: dict) -> pd.DataFrame:
    """``section, field, value`` rows of a scenario (dotted field paths, reader's order)."""
    flat = flatten(scenario or {})
    order = {s: i for i, s in enumerate(SECTIONS)}
    rows = [(p.split(".")[0].split("[")[0], p, v) for p, v in flat.items()]
    rows.sort(key=lambda r: order.get(r[0], len(order)))
    return pd.DataFrame([{"section": s, "field": p, "value": _plain(v)} for s, p, v in rows],
                        columns=["section", "field", "value"])


#: Overview rows: (aspect, top-level scenario keys it gathers).
_OVERVIEW = (("hardware", ("platform", "hardware", "parallelism")), ("model", ("model", "dtype")),
             ("workload", ("workload",)), ("scheduler", ("scheduler",)), ("KV cache", ("kv",)))

#: Leaf names that are policy choices, wherever they sit in the scenario.
POLICY_KEYS = ("eviction", "admission", "placement", "prefetch", "allocation", "compression",
               "attention", "write", "promotion", "load", "overlap", "offload", "flash")


def _compact(flat: dict[str, Any], prefix: str) -> str:
    parts = []
    for path, v in flat.items():
        if v is None or v == {} or v == []:
            continue
        rel = path[len(prefix):].lstrip(".") if path.startswith(prefix) else path
        parts.append(f"{rel}={_plain(v)}" if rel else _plain(v))
    return "; ".join(parts)


def scenario_overview(results: Any) -> pd.DataFrame:
    """One row per aspect (hardware, model, workload, scheduler, KV cache, policies), one column
    per result: each cell the aspect's non-empty fields as ``key=value; ...``."""
    res_by = labelled(results)
    cols: dict[str, list[str]] = {}
    for label, res in res_by.items():
        scen = (res if isinstance(res, dict) else res.scenario) or {}
        flat = flatten(scen)
        cells = []
        for _, keys in _OVERVIEW:
            sub = {p: v for p, v in flat.items() if p.split(".")[0].split("[")[0] in keys}
            prefix = keys[0] if len(keys) == 1 else ""
            cells.append(_compact(sub, prefix))
        pol = {p: v for p, v in flat.items() if p.rsplit(".", 1)[-1].split("[")[0] in POLICY_KEYS
               or ".eviction." in f".{p}." or ".eviction.name" in p}
        cells.append(_compact(pol, ""))
        cols[label] = cells
    aspects = [a for a, _ in _OVERVIEW] + ["policies"]
    return pd.DataFrame({"aspect": aspects, **cols})


def scenario_diff(results: Any) -> pd.DataFrame:
    """The scenario fields whose values differ between results (one column per result)."""
    res_by = labelled(results)
    flats = {k: flatten(r.scenario or {}) for k, r in res_by.items()}
    paths: list[str] = []
    for f in flats.values():
        paths += [p for p in f if p not in paths]
    rows = []
    for p in paths:
        vals = [_plain(f.get(p, "—")) for f in flats.values()]
        if len(set(vals)) > 1:
            rows.append({"field": p, **dict(zip(flats, vals))})
    return pd.DataFrame(rows, columns=["field", *flats])


def _plain(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, dict)):
        return ", ".join(map(str, v)) if isinstance(v, list) else str(v)
    return "" if v is None else str(v)


def to_html(df: pd.DataFrame, *, css_class: str = "tbl") -> str:
    """An escaped HTML table; cells that look numeric are right-aligned."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text = str(v)
            num = text[:1].isdigit() or text[:1] in "+−-" and text[1:2].isdigit()
            cells.append(f'<td class="{"num" if num else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{css_class}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
