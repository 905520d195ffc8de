"""MoE experts with an HBM cache in the serving engine: the engine's cache is the study's
cache on the same accesses, hit ratio grows with the cache, lookahead lowers stall, the
fetched bytes are on the link."""
from __future__ import annotations

import numpy as np
import pytest

import memsim
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine
from memsim.sim.experts import simulate_expert_cache
from memsim.workloads.experts import synthetic_routing, write_expert_trace


def mixtral(cap=2, prefetch="none", eviction="lru", out=120, n=1, batch=1, inp=1, **over):
    sc = {"version": 1, "name": "t", "seed": 0, "platform": "l40s", "model": "mixtral-8x7b",
          "workload": {"kind": "synthetic", "num_requests": n,
                       "arrivals": {"process": "poisson", "rate": "1000 req/s"},
                       "input_tokens": {"dist": "fixed", "value": inp},
                       "output_tokens": {"dist": "fixed", "value": out}},
          "scheduler": {"max_batch_size": batch}, "kv": {"memory_fraction": 0.95},
          "experts": {"tier": "dram", "cache": {"capacity": cap, "eviction": eviction},
                      "router": {"skew": 0.8, "correlation": 0.5}, "prefetch": prefetch}}
    sc.update(over)
    return sc


def run(sc, check=False):
    eng = Engine(load_scenario(sc), check=check)
    return eng, eng.run()


@pytest.mark.parametrize("eviction", ["lru", "fifo", "lfu"])
def test_the_engine_cache_is_the_study_cache_on_the_same_accesses(eviction):
    # one request of a 1-token prompt at batch 1 uses routing rows 0, 1, 2, ... one per iteration
    eng, res = run(mixtral(cap=2, eviction=eviction))
    st = eng.parts.beyond
    ref = simulate_expert_cache(st.routing[:120], slots=st.setup.slots, expert_bytes=st.setup.expert_bytes,
                                link_bytes_per_s=st.setup.link_bytes_per_s,
                                link_latency_s=st.setup.link_latency_s, layer_compute_s=1e-3,
                                eviction=eviction)
    assert res.summary["expert_hit_ratio"] == ref.hit_ratio
    assert res.summary["expert_fetched_bytes"] == ref.fetched_bytes


def test_lru_hit_ratio_grows_with_the_cache_and_tpot_falls():
    hits, tpot = [], []
    for cap in (0, 1, 2, 3, 4):   # 4 per layer (42 GiB) is the most that fits beside the rest
        s = run(mixtral(cap=cap, out=60))[1].summary
        hits.append(s["expert_hit_ratio"])
        tpot.append(s["tpot_p50_s"])
    assert hits == sorted(hits) and hits[0] == 0.0 and hits[-1] > 0.4
    assert tpot == sorted(tpot, reverse=True)


def test_lookahead_prefetch_lowers_stall_against_none():
    none = run(mixtral(cap=3, out=80))[1].summary
    look = run(mixtral(cap=3, out=80, prefetch="lookahead"))[1].summary
    assert look["expert_stall_s_per_token"] < none["expert_stall_s_per_token"]
    assert look["expert_prefetch_fetches"] > 0 and none["expert_prefetch_fetches"] == 0


def test_fetched_bytes_are_on_the_link_and_the_stall_in_the_iterations():
    eng, res = run(mixtral(cap=2, n=4, batch=4, inp=64, out=30, prefetch="lookahead"), check=True)
    s = res.summary
    c = eng.parts.beyond.cache.counts
    per = eng.parts.beyond.setup.expert_bytes
    assert s["expert_fetched_bytes"] == (c["demand_fetches"] + c["prefetch_fetches"]) * per
    assert s["link_pcie_dram->hbm_bytes"] == s["expert_fetched_bytes"]
    assert res.links["bytes"].sum() == pytest.approx(s["expert_fetched_bytes"], rel=1e-12)
    assert res.iterations["stall_s"].sum() == pytest.approx(s["expert_stall_s"], rel=1e-9)
    assert s["expert_stall_s_per_token"] == pytest.approx(s["expert_stall_s"] / s["iterations"])
    assert s["completed"] == 4


def test_a_model_larger_than_hbm_serves_with_its_experts_in_dram():
    res = memsim.run("scenarios/moe-mixtral-l40s-dram.yaml")
    s = res.summary
    assert s["completed"] == 8 and s["weight_bytes"] > 48e9 and 0 < s["expert_hit_ratio"] < 1


def test_an_expert_trace_drives_the_routing(tmp_path):
    r = synthetic_routing(tokens=64, layers=32, experts=8, active=2, skew=1.0, correlation=0.0,
                          rng=np.random.default_rng(3))
    write_expert_trace(tmp_path / "t.csv", r)
    sc = mixtral(cap=2, out=40)
    sc["experts"] = {"tier": "dram", "cache": {"capacity": 2}, "trace": str(tmp_path / "t.csv")}
    eng, res = run(sc)
    assert (eng.parts.beyond.routing == r).all()
    ref = simulate_expert_cache(r[:40], slots=eng.parts.beyond.setup.slots, expert_bytes=1,
                                link_bytes_per_s=1.0, link_latency_s=0.0, layer_compute_s=0.0)
    assert res.summary["expert_hit_ratio"] == ref.hit_ratio


def test_decode_runs_equal_stepping_every_iteration_and_runs_repeat():
    sc = mixtral(cap=2, n=3, batch=3, inp=32, out=25, prefetch="lookahead")
    fast = run(sc)[1]
    assert run(sc)[1].equals(fast)
    sc["engine"] = {"closed_form": False}
    slow = run(sc)[1]
    for key in ("expert_hit_ratio", "expert_fetched_bytes", "iterations"):
        assert fast.summary[key] == slow.summary[key], key
    for key in ("sim_time_s", "expert_stall_s", "tpot_p50_s"):
        assert fast.summary[key] == pytest.approx(slow.summary[key], rel=1e-9), key


def test_expert_fetches_share_pcie_with_a_dram_kv_tier():
    sc = mixtral(cap=2, n=4, batch=2, inp=600, out=12)
    sc["workload"].update({"shared_prefix": {"prompts": 1, "tokens": 512, "popularity": 1.0},
                           "hash_block_tokens": 16, "arrivals": {"process": "poisson", "rate": "0.5 req/s"}})
    sc["kv"].update({"prefix_cache": {"enabled": True}, "tiers": [{"tier": "dram", "capacity": "16 GiB"}],
                     "write": "write_through"})
    eng, res = run(sc, check=True)
    s = res.summary
    assert s["dram_bytes_written"] > 0 and s["completed"] == 4
    assert s["link_pcie_dram->hbm_bytes"] == pytest.approx(s["expert_fetched_bytes"] + s["dram_bytes_read"])
    assert s["link_pcie_hbm->dram_bytes"] == pytest.approx(s["dram_bytes_written"])
