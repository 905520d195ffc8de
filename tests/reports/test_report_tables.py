"""Tables: units from metric names, deltas against the first result, what differs between scenarios."""
from __future__ import annotations

import math

import pytest

from memsim.reports.tables import (
    comparison_table,
    format_metric,
    headline_table,
    scenario_diff,
    scenario_overview,
    scenario_table,
    to_html,
)


@pytest.mark.parametrize("name,value,text", [
    ("ttft_p50_s", 0.0123, "12.3 ms"), ("sim_time_s", 61.0, "61 s"), ("tpot_p50_s", 2e-5, "20 us"),
    ("kv_capacity_bytes", 3 << 30, "3 GiB"), ("prefix_hit_ratio", 0.3662, "36.62%"),
    ("throughput_tok_s", 1234.56, "1,234.6/s"), ("completed", 2000, "2,000"),
    ("ttft_p99_s", float("nan"), "—"), ("platform", "h100_sxm", "h100_sxm")])
def test_format_metric(name, value, text):
    assert format_metric(name, value) == text


def test_comparison_deltas_against_the_first(make_result):
    a, b = make_result(0), make_result(1)
    b.summary["rejected"] = 3
    a.summary["rejected"] = 0
    raw = comparison_table({"a": a, "b": b}, formatted=False).set_index("metric")
    want = (b.summary["ttft_p50_s"] - a.summary["ttft_p50_s"]) / a.summary["ttft_p50_s"]
    assert raw.loc["ttft_p50_s", "Δ b"] == pytest.approx(want)
    assert raw.loc["rejected", "Δ b"] == 3          # absolute when the first is 0
    shown = comparison_table({"a": a, "b": b}).set_index("metric")
    assert shown.loc["ttft_p50_s", "Δ b"] == f"{want:+.1%}"
    assert list(shown.columns) == ["a", "b", "Δ b"]
    full = comparison_table({"a": a, "b": b}, all_metrics=True)
    assert set(full["metric"]) >= {k for k, v in a.summary.items()
                                   if isinstance(v, (int, float)) and not isinstance(v, bool)}


def test_scenario_tables(make_result):
    a, b = make_result(0, name="a"), make_result(1, rate=6.0, name="b")
    t = scenario_table(a.scenario)
    assert t["section"].iloc[0] == "name"
    assert "kv.tiers[1].capacity" in set(t["field"])
    diff = scenario_diff({"a": a, "b": b}).set_index("field")
    assert diff.loc["workload.arrivals.rate"].tolist() == ["4.0/s", "6.0/s"]
    assert "platform" not in diff.index
    assert headline_table(a)["metric"].iloc[0] == "requests"


def test_to_html_escapes():
    import pandas as pd
    html = to_html(pd.DataFrame({"k": ["<script>"], "v": ["1.5"]}))
    assert "<script>" not in html and "&lt;script&gt;" in html and 'class="num"' in html
    assert not math.isnan(0.0)


def test_scenario_overview_gathers_aspects_and_policies(make_result):
    a, b = make_result(0, name="a"), make_result(1, name="b")
    b.scenario["kv"]["prefix_cache"] = {"enabled": True, "eviction": "arc"}
    view = scenario_overview({"a": a, "b": b}).set_index("aspect")
    assert list(view.index) == ["hardware", "model", "workload", "scheduler", "KV cache", "policies"]
    assert view.loc["hardware", "a"] == "platform=h100_sxm"
    assert "arrivals.rate=4.0/s" in view.loc["workload", "a"]
    assert view.loc["policies", "a"] == ""
    assert view.loc["policies", "b"] == "kv.prefix_cache.eviction=arc"
    assert "tiers[1].capacity=160 GiB" in view.loc["KV cache", "b"]
