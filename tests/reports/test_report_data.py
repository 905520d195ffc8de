"""The series behind the figures: exact time-bin spreading, CDFs, down-sampling, hit ratios."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memsim.reports._data import (
    binned_max,
    ecdf,
    flatten,
    labelled,
    labels_from_dirs,
    spread_over_bins,
    tier_hit_ratios,
)


def test_spread_is_exact_on_a_hand_worked_case():
    # 10 tokens over [0.5, 2.5) with unit bins: 2.5 in bin 0, 5 in bin 1, 2.5 in bin 2
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    out = spread_over_bins([0.5], [2.0], [10.0], edges)
    assert out.tolist() == pytest.approx([2.5, 5.0, 2.5])
    # a zero-duration row lands whole in its bin
    out = spread_over_bins([1.2, 0.5], [0.0, 2.0], [7.0, 10.0], edges)
    assert out.tolist() == pytest.approx([2.5, 12.0, 2.5])


def test_spread_conserves_the_total_on_random_intervals():
    rng = np.random.default_rng(3)
    start = rng.uniform(0, 90, 500)
    dur = rng.exponential(3, 500)
    amount = rng.integers(1, 100, 500).astype(float)
    edges = np.linspace(0, 100, 37)
    inside = start + dur <= 100
    out = spread_over_bins(start[inside], dur[inside], amount[inside], edges)
    assert out.sum() == pytest.approx(amount[inside].sum())
    assert (out >= -1e-9).all()
    # against a brute-force overlap computation
    brute = np.zeros(len(edges) - 1)
    for a, d, v in zip(start[inside], dur[inside], amount[inside]):
        lo, hi = np.maximum(edges[:-1], a), np.minimum(edges[1:], a + d)
        brute += v * np.clip(hi - lo, 0, None) / d
    assert out == pytest.approx(brute)


def test_ecdf_and_downsampling():
    x, f = ecdf([3.0, 1.0, np.nan, 2.0])
    assert x.tolist() == [1.0, 2.0, 3.0] and f.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    x, f = ecdf(np.arange(10_000), max_points=100)
    assert len(x) <= 100 and x[0] == 0 and x[-1] == 9999 and f[-1] == 1.0


def test_binned_max_keeps_the_peak():
    t = np.arange(5000.0)
    y = np.zeros(5000)
    y[1234] = 42.0
    tt, yy = binned_max(t, y, max_points=50)
    assert len(tt) <= 50 and yy.max() == 42.0


def test_flatten_names_nested_fields():
    flat = flatten({"kv": {"block_tokens": 16, "tiers": [{"name": "hbm"}, {"name": "dram"}]}, "seed": 1})
    assert flat == {"kv.block_tokens": 16, "kv.tiers[0].name": "hbm", "kv.tiers[1].name": "dram", "seed": 1}


def test_labels_for_lists_dicts_and_folders(tmp_path, make_result):
    a, b = make_result(0, name="same"), make_result(1, name="same")
    assert list(labelled([a, b])) == ["same", "same #2"]
    assert list(labelled({"x": a})) == ["x"]
    assert list(labelled(a)) == ["same"]
    (tmp_path / "p" / "run").mkdir(parents=True)
    (tmp_path / "q" / "run").mkdir(parents=True)
    assert labels_from_dirs([tmp_path / "p" / "run", tmp_path / "q" / "run"]) == ["p/run", "q/run"]


def test_tier_hit_ratios_from_counters_and_summary(make_result):
    res = make_result(0)
    last = res.tiers.groupby("tier").tail(1).set_index("tier")
    ratios = tier_hit_ratios(res)
    expect = last["hit_blocks"] / (last["hit_blocks"] + last["miss_blocks"])
    assert ratios["hbm"] == pytest.approx(expect["hbm"]) and ratios["dram"] == pytest.approx(expect["dram"])
    assert ratios["all tiers"] == pytest.approx(res.summary["prefix_hit_ratio"])
    res.tiers = pd.DataFrame(columns=["time_s", "tier", "used_bytes", "capacity_bytes"])
    res.summary = {k: v for k, v in res.summary.items() if "hit_ratio" not in k or k == "prefix_hit_ratio"}
    # the engine's spellings: hbm_prefix_hit_ratio for HBM, <tier>_hit_ratio below it
    res.summary.update(hbm_prefix_hit_ratio=0.1, dram_hit_ratio=0.5, hit_ratio_ssd=0.25)
    assert tier_hit_ratios(res) == {"hbm": 0.1, "dram": 0.5, "ssd": 0.25,
                                    "all tiers": pytest.approx(res.summary["prefix_hit_ratio"])}
    res.summary = {"prefix_hit_ratio": 0.3}
    assert tier_hit_ratios(res) == {"prefix cache": 0.3}
