"""Cluster metrics on small hand-made tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from memsim.sim.cluster.metrics import REPLICA_COLUMNS, kv_transfer_summary, max_goodput_rate, per_replica, slo_goodput

NAN = float("nan")


def reqs():
    # id: ttft, tpot, status, replica, decode_replica
    return pd.DataFrame({
        "request_id": [0, 1, 2, 3, 4, 5],
        "ttft_s": [0.5, 2.5, 1.0, 1.9, NAN, 0.2],
        "tpot_s": [0.05, 0.05, 0.2, NAN, NAN, 0.1],
        "status": ["completed", "completed", "completed", "completed", "rejected", "completed"],
        "replica": [0, 1, 0, 1, 1, 0],
        "input_tokens": [1000, 2000, 1000, 500, 800, 1500],
        "prefix_hit_tokens": [512, 0, 0, 0, 0, 1024],
        "prefix_blocks": [2, 4, 2, 1, 2, 3],
        "prefix_hit_blocks": [1, 0, 0, 0, 0, 2],
        "kv_transfer_bytes": [100, 0, 300, 0, 0, 50],
        "kv_transfer_s": [0.01, NAN, 0.03, NAN, NAN, 0.02],
        "kv_held_s": [0.0, NAN, 0.5, NAN, NAN, 0.0],
    })


def test_slo_goodput_hand_worked():
    """TTFT <= 2 s and TPOT <= 100 ms: request 0 yes; 1 TTFT too long; 2 TPOT too long; 3 one token (no
    TPOT) yes; 4 rejected; 5 TPOT exactly at the limit yes -> 3 of 6, over 10 s: 0.3 req/s."""
    g = slo_goodput(reqs(), ttft_s=2.0, tpot_s=0.1, duration_s=10.0)
    assert (g["slo_met"], g["slo_requests"]) == (3, 6)
    assert g["slo_attainment"] == pytest.approx(0.5) and g["goodput_req_s"] == pytest.approx(0.3)
    assert g["slo_ttft_attainment"] == pytest.approx(4 / 6) and g["slo_tpot_attainment"] == pytest.approx(4 / 6)
    only_ttft = slo_goodput(reqs(), ttft_s=2.0, duration_s=10.0)
    assert only_ttft["slo_met"] == 4
    with pytest.raises(ValueError):
        slo_goodput(reqs(), duration_s=1.0)


def test_max_goodput_rate_interpolates_the_crossing():
    assert max_goodput_rate([1, 2, 3, 4], [1.0, 0.95, 0.85, 0.5]) == pytest.approx(2 + 0.05 / 0.10)
    assert max_goodput_rate([1, 2], [0.99, 0.95]) == 2
    assert math.isnan(max_goodput_rate([1, 2], [0.5, 0.4]))
    with pytest.raises(ValueError):
        max_goodput_rate([2, 1], [1, 1])


def test_per_replica_hand_worked():
    it = pd.DataFrame({"replica": [0, 0, 1, 2], "start_s": [0, 1, 0, 5], "duration_s": [0.5, 1.0, 2.0, 1.0],
                       "steps": [1, 10, 4, 1], "batch_size": [3, 2, 4, 1]})
    tiers = pd.DataFrame({"time_s": [0, 1, 0, 1, 0, 1], "replica": [0, 0, 1, 1, 0, 0],
                          "tier": ["hbm", "hbm", "hbm", "hbm", "dram", "dram"],
                          "used_bytes": [10, 30, 50, 50, 999, 999], "capacity_bytes": [100] * 6,
                          "waiting": [0, 2, 4, 6, 0, 0]})
    t = per_replica(reqs(), it, tiers, replicas=3, duration_s=10.0)
    assert list(t.columns) == list(REPLICA_COLUMNS)
    assert t["requests"].tolist() == [3, 3, 0] and t["completed"].tolist() == [3, 2, 0]
    assert t["busy_fraction"].tolist() == pytest.approx([0.15, 0.2, 0.1])
    # replica 0: (1*3 + 10*2) / 11 sequences per iteration
    assert t["mean_batch_size"].tolist() == pytest.approx([23 / 11, 4.0, 1.0])
    assert t["iterations"].tolist() == [11, 4, 1]
    assert t["kv_use_mean"].tolist()[:2] == pytest.approx([0.2, 0.5]) and np.isnan(t["kv_use_mean"][2])
    assert t["kv_use_peak"].tolist()[:2] == pytest.approx([0.3, 0.5])
    assert t["queue_mean"].tolist()[:2] == pytest.approx([1.0, 5.0])
    assert t["prefix_hit_ratio"].tolist() == pytest.approx([3 / 7, 0.0, 0.0])
    assert t["prefix_hit_token_ratio"].tolist() == pytest.approx([1536 / 3500, 0.0, 0.0])


def test_per_replica_counts_decode_replicas():
    r = reqs().assign(decode_replica=[2, 2, 3, -1, -1, 3])
    t = per_replica(r, None, None, replicas=4, duration_s=1.0)
    assert t["requests"].tolist() == [3, 3, 2, 2] and t["completed"].tolist() == [3, 2, 2, 2]
    assert t["busy_fraction"].tolist() == [0.0] * 4


def test_kv_transfer_summary():
    s = kv_transfer_summary(reqs())
    assert s["kv_transfer_bytes"] == 450 and s["kv_transfers"] == 3
    assert s["kv_transfer_mean_s"] == pytest.approx(0.02)
    assert s["kv_held_requests"] == 1 and s["kv_held_mean_s"] == pytest.approx(0.5)
