"""The double-buffered timing model: hand-worked timelines, limits, SM sharing, platforms."""
import math

import pytest

from memsim.ground.errors import ConfigError
from memsim.sim.kernel import attention_io, machine_from_platform, predict_time, unit_time


def test_compute_bound_timeline_hides_all_but_the_first_load():
    # load 1 s, compute 10 s, three steps: 1 + 3 * 10 with double buffering;
    # without it every load waits for the previous compute: 3 * (1 + 10).
    kw = dict(hbm_bw=1.0, flops=1.0)
    assert unit_time([1, 1, 1], [10, 10, 10], [0, 0, 0], **kw) == 31.0
    assert unit_time([1, 1, 1], [10, 10, 10], [0, 0, 0], double_buffer=False, **kw) == 33.0


def test_memory_bound_timeline_hides_all_but_the_last_compute():
    kw = dict(hbm_bw=1.0, flops=1.0)
    assert unit_time([10, 10, 10], [1, 1, 1], [0, 0, 0], **kw) == 31.0
    assert unit_time([10, 10, 10], [1, 1, 1], [0, 0, 0], double_buffer=False, **kw) == 33.0


def test_stores_share_the_channel_in_issue_order():
    # l0 0-1, c0 1-3 (store0 issued at 3), l1 1-2, c1 3-5 (store1 at 5);
    # store0 3-6, store1 6-9.
    assert unit_time([1, 1], [2, 2], [3, 3], hbm_bw=1.0, flops=1.0) == 9.0


def test_sram_bandwidth_can_bound_a_step():
    # 4 B loaded and 0 stored: 2 * 4 B through SRAM at 1 B/s = 8 s > 1 FLOP / 1 FLOP/s
    assert unit_time([4], [1], [0], hbm_bw=4.0, flops=1.0, sram_bw=1.0) == 1.0 + 8.0


def test_memory_bound_decode_takes_bytes_over_bandwidth():
    r = attention_io("decode", n=4096, d=128, sram_elems=65536, heads=4)
    for sms in (1, 4, 16):                                 # bandwidth is shared: same total
        t = predict_time(r, hbm_bw=1e12, flops=1e30, sm_count=sms)
        assert t == pytest.approx(r.io_bytes / 1e12, rel=1e-9)


def test_compute_bound_flash_takes_flops_over_rate():
    r = attention_io("flash2", n=512, d=64, sram_elems=16384)
    t = predict_time(r, hbm_bw=1e30, flops=1e12)
    assert t == pytest.approx(r.flops / 1e12, rel=1e-9)


def test_units_spread_over_sms():
    args = dict(algo="flash1", n=256, d=32, sram_elems=8192)
    one_head = predict_time({**args, "heads": 1}, hbm_bw=1e30, flops=8e12, sm_count=8)
    eight = predict_time({**args, "heads": 8}, hbm_bw=1e30, flops=8e12, sm_count=8)
    assert eight == pytest.approx(one_head)                # 7 SMs idled with one head
    sixteen = predict_time({**args, "heads": 16}, hbm_bw=1e30, flops=8e12, sm_count=8)
    assert sixteen == pytest.approx(2 * eight)             # two waves
    # FA2 splits one head into row-block units, so one head already fills the SMs.
    fa2 = predict_time({**args, "algo": "flash2", "block_rows": 32}, hbm_bw=1e30, flops=8e12,
                       sm_count=8)
    assert fa2 == pytest.approx(one_head / 8)


def test_double_buffering_never_slower():
    for algo in ("naive", "flash1", "flash2", "small_m", "chunked", "decode_paged"):
        r = attention_io(algo, n=300, d=32, sram_elems=4096)
        on = predict_time(r, hbm_bw=1e11, flops=2e11, sm_count=2)
        off = predict_time(r, hbm_bw=1e11, flops=2e11, sm_count=2, double_buffer=False)
        assert on <= off * (1 + 1e-12)
        lo = max(r.io_bytes / 1e11, r.flops / 2e11)        # roofline floor for the chip
        assert on >= lo * (1 - 1e-9)


def test_platform_path_matches_explicit_numbers():
    pytest.importorskip("hwmodels")
    from memsim.hwmodels import load_platform
    p = load_platform("h100_sxm")
    r = attention_io("flash2", n=1024, d=64, sram_elems=p.compute.sram_per_sm // 2, heads=16)
    m = machine_from_platform(p, dtype="bf16")
    assert m.sm_count == p.compute.sm_count
    assert m.hbm_bw == p.tier_of_kind("hbm").read_bw * p.compute.efficiency.memory
    assert m.flops == p.compute.peak("bf16") * p.compute.efficiency.attention
    t = predict_time(r, platform="h100_sxm")
    assert t == predict_time(r, hbm_bw=m.hbm_bw, flops=m.flops, sram_bw=m.sram_bw,
                             sm_count=m.sm_count)
    # arguments without sram_elems take one SM's shared memory
    t2 = predict_time(dict(algo="flash2", n=1024, d=64, heads=16), platform=p)
    assert t2 == t


def test_rates_accept_units_and_reject_nonsense():
    r = attention_io("decode", n=64, d=8, sram_elems=4096)
    assert predict_time(r, hbm_bw="1 GB/s", flops="1 TFLOP/s") == \
        predict_time(r, hbm_bw=1e9, flops=1e12)
    with pytest.raises(ConfigError, match="hbm_bw"):
        predict_time(r, hbm_bw="1 GB", flops=1e12)
    with pytest.raises(ConfigError, match="platform"):
        predict_time(r, flops=1e12)
    with pytest.raises(ConfigError, match="sm_count"):
        predict_time(r, hbm_bw=1e9, flops=1e12, sm_count=0)
    assert math.isfinite(predict_time(r, hbm_bw=1e9, flops=1e12))
