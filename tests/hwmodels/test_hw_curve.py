"""``Tier.bandwidth_at`` on a hand-made table: log-log in size, linear in depth, clamped."""
from __future__ import annotations

import math

import pytest

from memsim.ground.errors import ConfigError
from memsim.hwmodels import Platform, Tier


def _tier(curve=None, **kw):
    data = dict(name="ssd", kind="ssd", capacity="1 TB", read_bw="8 GB/s", write_bw="4 GB/s",
                latency="80 us", granularity="4 KiB", parallelism=64, source="test table")
    data.update(kw)
    if curve is not None:
        data["bw_curve"] = curve
    return Tier.model_validate(data)


CURVE = [
    {"request_size": "4 KiB", "queue_depth": 1, "read_bw": "100 MB/s", "write_bw": "50 MB/s"},
    {"request_size": "64 KiB", "queue_depth": 1, "read_bw": "1.6 GB/s"},
    {"request_size": "4 KiB", "queue_depth": 9, "read_bw": "500 MB/s"},
    {"request_size": "64 KiB", "queue_depth": 9, "read_bw": "8 GB/s"},
]


def test_points_are_reproduced():
    t = _tier(CURVE)
    assert t.bandwidth_at(4096, 1) == pytest.approx(100e6)
    assert t.bandwidth_at(65536, 9) == pytest.approx(8e9)


def test_log_log_in_size_is_the_geometric_mean_halfway():
    t = _tier(CURVE)
    mid = math.sqrt(4096 * 65536)                 # 16 KiB, halfway in log size
    assert t.bandwidth_at(mid, 1) == pytest.approx(math.sqrt(100e6 * 1.6e9))


def test_linear_in_queue_depth():
    t = _tier(CURVE)
    assert t.bandwidth_at(4096, 5) == pytest.approx((100e6 + 500e6) / 2)


def test_clamped_outside_the_table():
    t = _tier(CURVE)
    assert t.bandwidth_at(512, 1) == pytest.approx(100e6)
    assert t.bandwidth_at(2**30, 1) == pytest.approx(1.6e9)
    assert t.bandwidth_at(4096, 1000) == pytest.approx(500e6)
    assert t.bandwidth_at(4096, 0.5) == pytest.approx(100e6)


def test_write_uses_write_points_or_falls_back():
    t = _tier(CURVE)
    assert t.bandwidth_at(1 << 20, 4, write=True) == pytest.approx(50e6)   # the single write point
    assert _tier().bandwidth_at(1 << 20, write=True) == pytest.approx(4e9)
    assert _tier().bandwidth_at(4096) == pytest.approx(8e9)


def test_never_above_the_tier_bandwidth_and_rejects_points_above_it():
    # built directly, the check surfaces as pydantic's ValidationError (a ValueError)
    with pytest.raises(ValueError, match=r"bw_curve\[0\]\.read_bw.*exceeds"):
        _tier([{"request_size": "4 KiB", "queue_depth": 1, "read_bw": "9 GB/s"}])
    with pytest.raises(ValueError, match="duplicate point"):
        _tier([CURVE[0], CURVE[0]])


def test_bad_arguments():
    t = _tier(CURVE)
    with pytest.raises(ConfigError, match="request_size"):
        t.bandwidth_at(0)
    with pytest.raises(ConfigError, match="queue_depth"):
        t.bandwidth_at(4096, 0)


def test_cache_follows_reassignment():
    t = _tier(CURVE)
    assert t.bandwidth_at(4096, 1) == pytest.approx(100e6)
    t.bw_curve = [CURVE[2]]
    assert t.bandwidth_at(4096, 1) == pytest.approx(500e6)


def _platform(links):
    tier = dict(capacity="1 GiB", read_bw="1 GB/s", write_bw="1 GB/s", latency="1 us",
                granularity="64 B", parallelism=1, source="t")
    return Platform.model_validate({
        "version": 1, "name": "toy", "description": "", "source": "t",
        "compute": {"name": "c", "peak_flops": {"bf16": "1 TFLOP/s"}, "sm_count": 1,
                    "sram_per_sm": "1 KiB", "l2": "1 MiB", "clock": "1 GHz", "source": "t",
                    "efficiency": {"gemm": 1, "attention": 1, "memory": 1}},
        "tiers": [dict(tier, name=n, kind=k) for n, k in
                  [("hbm", "hbm"), ("dram", "dram"), ("cxl", "cxl"), ("ssd", "ssd")]],
        "links": [dict(name=n, between=b, bandwidth="1 GB/s", latency="1 us", source="t")
                  for n, b in links],
    })


def test_path_is_the_shortest_chain():
    p = _platform([("pcie", ["hbm", "dram"]), ("cxl_link", ["dram", "cxl"]),
                   ("cxl_ssd", ["cxl", "ssd"]), ("nvme", ["dram", "ssd"])])
    assert [x.name for x in p.path("hbm", "ssd")] == ["pcie", "nvme"]
    assert [x.name for x in p.path("cxl", "hbm")] == ["cxl_link", "pcie"]
    assert p.tier("cxl").capacity_total == 2**30
