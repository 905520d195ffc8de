"""Figures: one trace per result, and the numbers they plot add up to the result's own."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from memsim.reports import figures as F


@pytest.fixture(scope="module")
def two(make_result):
    return {"a": make_result(0, name="a"), "b": make_result(1, rate=6.0, name="b")}


def test_latency_cdfs_overlay_one_line_per_result_and_metric(two):
    fig = F.latency_cdfs(two)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 6
    assert [t.name for t in fig.data if t.showlegend] == ["a", "b"]
    a_ttft = fig.data[0]
    done = two["a"].requests.query("status == 'completed'")
    assert a_ttft.x[-1] == pytest.approx(done["ttft_s"].max()) and a_ttft.y[-1] == 1.0


def test_throughput_integrates_to_generated_tokens(two):
    fig = F.throughput_over_time(two, bins=50)
    for trace, res in zip(fig.data, two.values()):
        req = res.requests
        started = req.dropna(subset=["first_token_s"])
        finished = req.dropna(subset=["finish_s"])
        # first tokens of every started request, the rest only where the finish is known
        want = (started["generated_tokens"] > 0).sum() + (finished["generated_tokens"] - 1).sum()
        assert len(started) > len(finished)
        width = np.diff(np.asarray(trace.x))[0]
        assert np.sum(trace.y) * width == pytest.approx(want, rel=1e-9)


def test_batch_size_is_time_weighted_mean(make_result):
    res = make_result(0)
    res.iterations = pd.DataFrame({"start_s": [0.0, 1.0], "duration_s": [1.0, 1.0], "steps": [1, 1],
                                   "batch_size": [4, 8], "prefill_tokens": [0, 0], "decode_tokens": [4, 8],
                                   "kv_tokens": [0, 0]})
    res.summary["sim_time_s"] = 2.0
    res.requests = res.requests.iloc[:0]
    fig = F.batch_size_over_time(res, bins=4)
    assert list(fig.data[0].y) == pytest.approx([4, 4, 8, 8])


def test_tier_and_link_panels(two):
    fig = F.tier_occupancy(two)
    names = {a.text for a in fig.layout.annotations}
    assert names == {"hbm", "dram"}
    peak = max(max(t.y) for t in fig.data if t.name == "a" and t.xaxis in ("x", None))
    assert peak * (1 << 30) == pytest.approx(two["a"].tiers.query("tier == 'hbm'")["used_bytes"].max())
    fig = F.link_bandwidth(two)
    assert {a.text for a in fig.layout.annotations} == {"pcie (h2d)", "pcie (d2h)"}
    a_h2d = fig.data[0]
    moved = np.sum(a_h2d.y) * 1e9 * np.diff(np.asarray(a_h2d.x))[0]
    assert moved == pytest.approx(two["a"].links.query("direction == 'h2d'")["bytes"].sum(), rel=1e-6)


def test_request_timeline_phases_cover_arrival_to_finish(make_result):
    res = make_result(0, n=10)
    fig = F.request_timeline(res, sample=5)
    by = {t.name: t for t in fig.data}
    assert set(by) == {"queue", "load", "prefill", "decode"}
    req = res.requests.set_index(res.requests["request_id"].map(lambda i: f"req {i}"))
    for label, base in zip(by["queue"].y, by["queue"].base):
        assert base == pytest.approx(req.loc[label, "arrival_s"])
    for label, base, width in zip(by["decode"].y, by["decode"].base, by["decode"].x):
        assert base + width == pytest.approx(req.loc[label, "finish_s"])
    assert len(set(by["queue"].y)) == 5


def test_hit_ratio_mrc_and_sweep_figures(two):
    fig = F.hit_ratio_per_tier(two)
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].x) == ["hbm", "dram", "all tiers"]
    fig = F.miss_ratio_curve(two["a"])
    assert [t.name for t in fig.data] == ["lru", "s3fifo"]
    df = pd.DataFrame({"kv.block_tokens": [16, 32, 16, 32], "policy": ["lru", "lru", "arc", "arc"],
                       "ttft_p50_s": [1.0, 2.0, 3.0, 4.0]})
    fig = F.sweep_metric(df, "kv.block_tokens", "ttft_p50_s", color="policy")
    assert [list(t.y) for t in fig.data] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(KeyError, match="nope"):
        F.sweep_metric(df, "nope", "ttft_p50_s")
    fig = F.compare_bars(df.assign(scenario=list("wxyz")), ["ttft_p50_s"])
    assert list(fig.data[0].x) == list("wxyz")


def test_idle_links_get_no_panel(make_result):
    res = make_result(0, links=(("pcie", "h2d"), ("nvme", "read")))
    res.links.loc[res.links["link"] == "nvme", "bytes"] = 0
    fig = F.link_bandwidth(res)
    assert {a.text for a in fig.layout.annotations} == {"pcie (h2d)"}


def test_latency_axis_goes_log_only_for_wide_spans(make_result):
    res = make_result(0)
    res.requests.loc[res.requests.index[:5], "ttft_s"] = 1e-4        # TTFT now spans > 2 decades
    fig = F.latency_cdfs(res)
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis2.type == "linear"                         # TPOT: 10-30 ms
