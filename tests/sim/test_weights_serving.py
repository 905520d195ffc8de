"""Weights across tiers in the serving engine: a model larger than HBM serves, its batch-1
TPOT is the closed form of sim.weights, the stream's bytes are on the links, KV traffic
shares the link, and scenarios without weights: are unchanged."""
from __future__ import annotations

import numpy as np
import pytest

import memsim
from memsim.hwmodels import load_platform
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine
from memsim.sim.weights import closed_form_iteration_s, layer_times, parse_placement, stream_plan
from memsim.workloads import load_model


def fixed(scenario, n, inp, out, rate="1 req/s", **over):
    return scenario(workload={"kind": "synthetic", "num_requests": n,
                              "arrivals": {"process": "poisson", "rate": rate},
                              "input_tokens": {"dist": "fixed", "value": inp},
                              "output_tokens": {"dist": "fixed", "value": out}}, **over)


def llama70(scenario, n=1, out=64, rate="1 req/s", placement=None, depth=1, **over):
    return fixed(scenario, n, 512, out, rate=rate, model="llama-3.1-70b",
                 kv={"block_tokens": 16, "memory_fraction": 0.95},
                 weights={"placement": placement or {"hbm": "50%", "dram": "50%"}, "prefetch_depth": depth},
                 **over)


@pytest.mark.parametrize("depth", [1, 0])
def test_llama70b_batch1_tpot_is_the_closed_form_and_within_10pct_of_the_estimate(scenario, depth):
    res = memsim.run(llama70(scenario, depth=depth))
    tpot = float(res.requests["tpot_s"].iloc[0])
    hw, m = load_platform("h100_sxm"), load_model("llama-3.1-70b")
    plan = stream_plan(hw, m, parse_placement({"hbm": "50%", "dram": "50%"}, hw))
    c, o = layer_times(hw, m, batch=1, context_tokens=512 + 32)
    want = closed_form_iteration_s(plan, c, prefetch_depth=depth, other_s=o)
    assert tpot == pytest.approx(want, rel=2e-3)        # the context grows 512 -> 576 within the run
    est = 0.5 * (c * m.layers) + o + plan.streamed_bytes_per_iteration / hw.link("pcie").bandwidth
    assert abs(tpot / est - 1) <= 0.10, (tpot, est)
    assert res.summary["weights_stall_s"] > 0 and res.summary["completed"] == 1


def test_the_stream_is_on_the_link_byte_for_byte(scenario):
    eng = Engine(load_scenario(llama70(scenario, n=3, out=20)))
    res = eng.run()
    s = res.summary
    plan = eng.parts.beyond.plan
    assert s["weights_streamed_bytes"] == s["iterations"] * plan.streamed_bytes_per_iteration
    assert s["link_pcie_dram->hbm_bytes"] == s["weights_streamed_bytes"]
    links = res.links
    on = links[(links["link"] == "pcie") & (links["direction"] == "dram->hbm")]
    assert on["bytes"].sum() == pytest.approx(s["weights_streamed_bytes"], rel=1e-12)
    it = res.iterations
    assert (it["stall_s"] >= 0).all() and (it["stall_s"] <= it["duration_s"]).all()
    assert it["stall_s"].sum() == pytest.approx(s["weights_stall_s"], rel=1e-9)


def test_throughput_rises_with_batch_and_tpot_stays_link_bound(scenario):
    tput, tpot = [], []
    for b in (1, 4, 16):
        res = memsim.run(llama70(scenario, n=b, out=32, rate="1000 req/s",
                                 scheduler={"max_batch_size": b, "max_batch_tokens": 8192}))
        tput.append(res.summary["throughput_tok_s"])
        tpot.append(res.summary["tpot_p50_s"])
    assert tput[0] < tput[1] < tput[2]
    assert max(tpot) / min(tpot) < 1.05           # the link carries the same bytes at every batch


def test_kv_traffic_shares_the_link_and_both_directions_are_counted(scenario):
    sc = llama70(scenario, n=6, out=16, rate="2 req/s",
                 workload__shared_prefix={"prompts": 1, "tokens": 256, "popularity": 1.0},
                 workload__hash_block_tokens=16)
    sc["kv"].update({"memory_fraction": 0.95, "prefix_cache": {"enabled": True},
                     "tiers": [{"tier": "dram", "capacity": "64 GiB"}], "write": "write_through"})
    eng = Engine(load_scenario(sc), check=True)
    res = eng.run()
    s = res.summary
    # into HBM: the weight stream plus KV loads; out of HBM: KV writes
    assert s["link_pcie_dram->hbm_bytes"] == pytest.approx(s["weights_streamed_bytes"] + s["dram_bytes_read"])
    assert s["link_pcie_hbm->dram_bytes"] == pytest.approx(s["dram_bytes_written"])
    assert s["dram_bytes_written"] > 0
    assert res.links["bytes"].sum() == pytest.approx(sum(
        v for k, v in s.items() if k.startswith("link_") and k.endswith("_bytes") and k != "link_bytes"))


def test_a_placement_that_leaves_no_kv_room_is_a_clear_error(scenario):
    with pytest.raises(memsim.SimulationError, match="leaves no HBM"):
        memsim.run(llama70(scenario, placement={"hbm": "60%", "dram": "40%"}))


def test_flexgen_placement_serves(scenario):
    sc = llama70(scenario, placement="flexgen", n=2, out=8,
                 weights__flexgen={"batch": 4, "prompt_len": 512, "gen_len": 64})
    sc["kv"]["memory_fraction"] = 1.0     # the LP packs the whole HBM
    res = memsim.run(sc)
    assert res.summary["completed"] == 2
    assert res.summary["weights_placement"].startswith("hbm: ")


def test_opt30b_on_an_rtx4090_serves():
    res = memsim.run("scenarios/weights-opt30b-rtx4090.yaml")
    assert res.summary["completed"] == 8 and res.summary["weights_streamed_bytes"] > 0


def test_without_weights_the_stall_column_is_zero(scenario):
    res = memsim.run(scenario(workload__num_requests=20))
    assert "weights_streamed_bytes" not in res.summary
    assert np.all(res.iterations["stall_s"].to_numpy() == 0.0)


@pytest.mark.parametrize("depth", [1, 0])
def test_closed_form_runs_equal_stepping_every_iteration(scenario, depth):
    sc = llama70(scenario, n=4, out=40, rate="3 req/s", depth=depth)
    fast = memsim.run(sc)
    sc["engine"] = {"closed_form": False}
    slow = memsim.run(sc)
    assert fast.summary["batch_runs"] < slow.summary["batch_runs"]
    for key in ("sim_time_s", "tpot_p50_s", "ttft_p50_s", "weights_streamed_bytes", "weights_stall_s"):
        assert fast.summary[key] == pytest.approx(slow.summary[key], rel=1e-9), key


def test_each_channel_carries_only_the_streams_that_cross_it(scenario):
    eng = Engine(load_scenario(llama70(scenario, n=2, out=8,
                                       placement={"hbm": "50%", "dram": "40%", "ssd": "10%"})))
    s = eng.run().summary
    plan, steps = eng.parts.beyond.plan, s["iterations"]
    by_tier = {st.tier: st.bytes_per_layer * plan.layers * steps for st in plan.streams}
    assert s["link_pcie_dram->hbm_bytes"] == by_tier["dram"] + by_tier["ssd"] == s["weights_streamed_bytes"]
    assert s["link_ssd_read_bytes"] == s["link_nvme_ssd->dram_bytes"] == by_tier["ssd"]
    # the drive is the slower path: each layer waits for its 10% from the SSD
    assert s["tpot_p50_s"] > 1.5 * memsim.run(llama70(scenario, n=1, out=8)).summary["tpot_p50_s"]
