"""Tables and figures that fit: policies wrap to the width, legends show every policy, axes carry units,
the timeline runs in arrival order."""
from __future__ import annotations

import numpy as np
import pandas as pd

from memsim.cli import main
from memsim.policies.mrc import figure as mrc_figure
from memsim.reports.figures import miss_ratio_curve, request_timeline
from memsim.reports.figures_compression import recall_figure


def test_policies_wrap_to_the_width(capsys, monkeypatch):
    for width in (80, 120):
        monkeypatch.setenv("COLUMNS", str(width))
        assert main(["policies"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) <= width
        assert any("SOSP 2023" in line for line in lines)   # whole citations, wrapped (not cut at 70)
    assert main(["policies", "--width", "200"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 200


def test_compress_legend_shows_every_policy():
    pols = [f"p{i}" for i in range(14)]
    df = pd.DataFrame([dict(policy=p, budget_fraction=b, recall=b, resident_fraction=b)
                       for p in pols for b in (0.1, 0.5)])
    fig = recall_figure(df)
    assert [t.name for t in fig.data if t.showlegend is not False] == pols
    assert fig.layout.legend.orientation == "h"          # below the panels, in rows: nothing cut off
    assert fig.layout.height >= 480 + 24 * 3


def test_mrc_axes_carry_their_unit(make_result):
    fig = mrc_figure([{"policy": "lru", "capacity": c, "miss_ratio": 1 / c} for c in (1, 2, 4)],
                     capacity_unit="blocks of 512 tokens")
    assert fig.layout.xaxis.title.text == "capacity (blocks of 512 tokens)"
    res = make_result(0)
    res.extras["mrc"]["block_tokens"] = 16
    assert miss_ratio_curve(res).layout.xaxis.title.text == "capacity (blocks of 16 tokens)"


def test_timeline_is_in_arrival_order(make_result):
    res = make_result(0, n=30)
    req = res.requests.copy()
    req["queue_s"] = np.where(req.index % 3 == 0, 0.0, req["queue_s"])   # some never queued
    req["scheduled_s"] = req["arrival_s"] + req["queue_s"]
    res.requests = req.sample(frac=1.0, random_state=1)                    # rows in any order
    fig = request_timeline(res, sample=30)
    order = list(fig.layout.yaxis.categoryarray)
    want = [f"req {i}" for i in req.sort_values("arrival_s")["request_id"] if np.isfinite(req.loc[i, "scheduled_s"])]
    assert order == want and fig.layout.yaxis.categoryorder == "array"


def test_report_says_what_the_prefix_ratios_count(make_result):
    from memsim.reports.html import build_html
    from memsim.reports.tables import comparison_table
    res = make_result(0)
    res.summary.update(hbm_prefix_hit_ratio=0.1, prefix_hit_token_ratio=0.12)
    page = build_html(res)
    assert "what it counts" in page and "found cached in any tier" in page and "found in HBM only" in page
    tab = comparison_table({"a": res, "b": make_result(1)}, notes=True)
    notes = dict(zip(tab["metric"], tab["what it counts"]))
    assert "any tier" in notes["prefix_hit_ratio"] and "HBM" in notes["prefix_hit_token_ratio"]
