"""Weights across tiers: placements, streams over the platform's channels, the streaming time."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError, SimulationError
from memsim.hwmodels import load_platform
from memsim.sim.weights import (
    check_fits,
    closed_form_iteration_s,
    decode_run_pieces,
    flexgen_placement,
    layer_times,
    parse_fraction,
    parse_placement,
    stream_iteration,
    stream_plan,
)
from memsim.workloads import load_model


@pytest.fixture(scope="module")
def h100():
    return load_platform("h100_sxm")


@pytest.fixture(scope="module")
def llama70():
    return load_model("llama-3.1-70b")


@pytest.mark.parametrize("value,want", [("60%", 0.6), (" 40 %", 0.4), (0.25, 0.25), (1, 1.0), ("0%", 0.0)])
def test_fractions(value, want):
    assert parse_fraction(value, field="f") == pytest.approx(want)


@pytest.mark.parametrize("value", ["60", "x%", "120%", -0.1, True, None])
def test_bad_fractions(value):
    with pytest.raises(ConfigError, match="^f: "):
        parse_fraction(value, field="f")


@pytest.mark.parametrize("spec,message", [
    ({"hbm": "60%", "dram": "50%"}, r"weights\.placement: fractions sum to 110%; they must sum to 100%"),
    ({"hbm": "60%", "dram": "30%"}, r"sum to 90%"),
    ({"hbm": "60%", "nvm": "40%"}, r"weights\.placement\.nvm: unknown tier 'nvm'; weights may live in: hbm, dram, ssd, remote"),
    ({"hbm": "60%", "sram": "40%"}, r"unknown tier 'sram'"),
    ({"hbm": "sixty"}, r"weights\.placement\.hbm: 'sixty' is not a fraction"),
    ({}, r"expected a mapping"),
])
def test_bad_placements_give_one_line(h100, spec, message):
    with pytest.raises(ConfigError, match=message) as e:
        parse_placement(spec, h100)
    assert "\n" not in str(e.value)


def test_placement_keeps_platform_order_and_drops_zero(h100):
    p = parse_placement({"dram": "40%", "hbm": "60%", "ssd": "0%"}, h100)
    assert p.fractions == (("hbm", 0.6), ("dram", 0.4))


def test_streams_conserve_bytes_on_every_channel(h100, llama70):
    p = parse_placement({"hbm": "50%", "dram": "30%", "ssd": "20%"}, h100)
    plan = stream_plan(h100, llama70, p)
    per_layer = llama70.weight_bytes / llama70.layers
    by_tier = {s.tier: s for s in plan.streams}
    assert by_tier["dram"].bytes_per_layer == pytest.approx(0.3 * per_layer, abs=1)
    assert by_tier["ssd"].channels == (("ssd", "read"), ("nvme", "ssd->dram"), ("pcie", "dram->hbm"))
    ch = plan.channel_bytes_per_iteration()
    L = llama70.layers
    # PCIe carries both streams; the SSD and NVMe link only the SSD's; nothing else moves
    assert ch[("pcie", "dram->hbm")] == L * (by_tier["dram"].bytes_per_layer + by_tier["ssd"].bytes_per_layer)
    assert ch[("ssd", "read")] == ch[("nvme", "ssd->dram")] == L * by_tier["ssd"].bytes_per_layer
    assert set(ch) == {("pcie", "dram->hbm"), ("ssd", "read"), ("nvme", "ssd->dram")}
    assert plan.streamed_bytes_per_iteration == pytest.approx(0.5 * llama70.weight_bytes, rel=1e-6)
    # the SSD side is the slower: its bytes over min(drive, x4 link) bound the layer
    ssd_s = by_tier["ssd"].bytes_per_layer / min(by_tier["ssd"].rates_bytes_per_s)
    assert plan.layer_fetch_s() == pytest.approx(ssd_s + by_tier["ssd"].latency_s)


def test_llama70b_on_one_h100_tpot_is_hbm_time_plus_streamed_bytes_over_pcie(h100, llama70):
    """The issue's check: batch 1, half the weights in host DRAM."""
    plan = stream_plan(h100, llama70, parse_placement({"hbm": "50%", "dram": "50%"}, h100))
    c, other = layer_times(h100, llama70, batch=1, context_tokens=1024)
    tpot = stream_iteration(plan, c, prefetch_depth=1, other_s=other).iteration_s
    pcie = h100.link("pcie").bandwidth
    expect = 0.5 * c * llama70.layers + other + plan.streamed_bytes_per_iteration / pcie
    assert tpot == pytest.approx(expect, rel=0.10)
    assert tpot > plan.streamed_bytes_per_iteration / pcie          # the link bounds it


def test_throughput_rises_with_batch(h100, llama70):
    """FlexGen's argument: streamed bytes per iteration do not grow with the batch."""
    plan = stream_plan(h100, llama70, parse_placement({"hbm": "50%", "dram": "50%"}, h100))
    tput = []
    for b in (1, 4, 16, 64):
        c, other = layer_times(h100, llama70, batch=b, context_tokens=1024)
        tput.append(b / stream_iteration(plan, c, other_s=other).iteration_s)
    assert all(b > a for a, b in zip(tput, tput[1:])), tput
    assert tput[-1] > 30 * tput[0]


@pytest.mark.parametrize("depth", [0, 1, 3])
@pytest.mark.parametrize("c", [1e-4, 5e-3, 0.05])
def test_recurrence_equals_the_closed_form_for_uniform_layers(h100, llama70, depth, c):
    plan = stream_plan(h100, llama70, parse_placement({"hbm": "40%", "dram": "60%"}, h100))
    t = stream_iteration(plan, c, prefetch_depth=depth, other_s=2e-3)
    assert t.iteration_s == pytest.approx(closed_form_iteration_s(plan, c, prefetch_depth=depth,
                                                                  other_s=2e-3), rel=1e-9)
    assert t.iteration_s == pytest.approx(t.compute_s + t.stall_s, rel=1e-12)


def test_uneven_layers_need_depth_to_hide_the_stream(h100, llama70):
    plan = stream_plan(h100, llama70, parse_placement({"hbm": "70%", "dram": "30%"}, h100))
    f = plan.layer_fetch_s()
    c = np.where(np.arange(llama70.layers) % 2 == 0, 0.2 * f, 1.8 * f)   # mean = f
    t = [stream_iteration(plan, c, prefetch_depth=d).iteration_s for d in (0, 1, 2)]
    lower = max(c.sum(), llama70.layers * f)
    assert t[0] == pytest.approx(c.sum() + llama70.layers * f)
    assert t[0] > t[1] >= t[2] >= lower * (1 - 1e-9)
    assert t[2] == pytest.approx(lower, rel=1e-6)


def test_all_in_hbm_streams_nothing(h100):
    m = load_model("llama-3.1-8b")
    plan = stream_plan(h100, m, parse_placement({"hbm": "100%"}, h100))
    c, other = layer_times(h100, m, batch=1, context_tokens=100)
    t = stream_iteration(plan, c, other_s=other)
    assert plan.streams == () and t.stall_s == 0.0 and t.iteration_s == pytest.approx(c * m.layers + other)


def test_a_platform_without_hbm_is_refused():
    hw = load_platform("laptop_flash")
    with pytest.raises(ConfigError, match="no hbm tier"):
        parse_placement({"dram": "50%", "flash": "50%"}, hw)


def test_flexgen_placement_feeds_the_stream(h100, llama70):
    p = flexgen_placement(h100, llama70, batch=8, prompt_len=512, gen_len=64)
    assert p.source == "flexgen" and sum(f for _, f in p.fractions) == pytest.approx(1.0)
    assert 0 < p.fraction("hbm") < 1
    plan = stream_plan(h100, llama70, p)
    left = check_fits(plan, prefetch_depth=1, kv_bytes=0, hbm_capacity_bytes=h100.tier("hbm").capacity)
    assert left >= 0


def test_check_fits_says_what_does_not_fit(h100, llama70):
    plan = stream_plan(h100, llama70, parse_placement({"hbm": "60%", "dram": "40%"}, h100))
    with pytest.raises(SimulationError, match="exceed HBM"):
        check_fits(plan, prefetch_depth=1, kv_bytes=8 * 2**30, hbm_capacity_bytes=h100.tier("hbm").capacity)


@pytest.mark.parametrize("depth", [0, 1])
@pytest.mark.parametrize("stream_s", [0.0, 0.05, 0.07, 0.2, 5.0])
def test_decode_run_pieces_sum_to_the_per_step_times(depth, stream_s):
    a, b, s0, n, steps = 0.04, 2e-6, 10_000, 32, 500
    pieces = decode_run_pieces(a, b, stream_s=stream_s, prefetch_depth=depth, s0=s0, n=n, steps=steps)
    assert sum(k for k, _, _ in pieces) == steps and len(pieces) <= 2
    s, total = s0, 0.0
    for k, ai, bi in pieces:
        for _ in range(k):
            total += ai + bi * s
            s += n
    per_step = [(max(stream_s, a + b * (s0 + j * n)) if depth else a + stream_s + b * (s0 + j * n))
                for j in range(steps)]
    assert total == pytest.approx(sum(per_step), rel=1e-12)


def test_decode_run_pieces_split_where_compute_overtakes_the_stream():
    pieces = decode_run_pieces(0.04, 2e-6, stream_s=0.07, prefetch_depth=1, s0=10_000, n=32, steps=500)
    (k1, a1, b1), (k2, a2, b2) = pieces
    assert (a1, b1, a2, b2) == (0.07, 0.0, 0.04, 2e-6) and k1 + k2 == 500
    assert 0.04 + 2e-6 * (10_000 + (k1 - 1) * 32) < 0.07 <= 0.04 + 2e-6 * (10_000 + k1 * 32)
