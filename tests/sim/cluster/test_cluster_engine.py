"""The cluster engine: replicas behind a router, prefill/decode handoff, bad cluster configs."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.sim.cluster.engine import ClusterEngine
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine

BASE = {
    "version": 1, "name": "cluster-test", "seed": 3, "platform": "h100_sxm", "model": "llama-3.1-8b",
    "workload": {"kind": "synthetic", "num_requests": 240, "arrivals": {"process": "poisson", "rate": "12 req/s"},
                 "input_tokens": {"dist": "lognormal", "mean": 2500, "sigma": 0.6, "max": 12000},
                 "output_tokens": {"dist": "lognormal", "mean": 120, "sigma": 0.6, "max": 600},
                 "shared_prefix": {"prompts": 48, "tokens": 4096, "popularity": 0.8},
                 "hash_block_tokens": 512},
    # a small HBM share: the replicas' caches cannot all hold every shared prompt
    "kv": {"block_tokens": 16, "memory_fraction": 0.3, "prefix_cache": {"enabled": True, "eviction": "lru"}},
}


def scenario(**cluster):
    d = copy.deepcopy(BASE)
    if cluster:
        d["cluster"] = cluster
    return d


def run(d, check=False):
    scen = load_scenario(d)
    eng = ClusterEngine(scen, check=check) if scen.cluster is not None else Engine(scen, check=check)
    return eng.run()


def test_one_replica_cluster_reproduces_the_single_engine():
    one, single = run(scenario(replicas=1)), run(scenario())
    a = {k: v for k, v in single.summary.items() if k not in ("wall_time_s", "sim_speed")}
    b = {k: one.summary[k] for k in a}
    assert a == b
    cols = list(single.requests.columns)
    assert one.requests[cols].equals(single.requests)
    assert (one.requests["replica"] == 0).all() and (one.requests["decode_replica"] == -1).all()


def test_four_replicas_route_every_request_and_keep_their_books():
    res = run(scenario(replicas=4, router="least_requests"), check=True)
    s, req = res.summary, res.requests
    assert s["replicas"] == 4 and s["completed"] == 240
    assert sorted(req["replica"].unique()) == [0, 1, 2, 3]
    assert sum(s[f"replica{i}_requests"] for i in range(4)) == 240
    assert set(res.iterations["replica"].unique()) == {0, 1, 2, 3}
    assert set(res.tiers["replica"].unique()) == {0, 1, 2, 3}
    table = res.extras["replicas"]
    assert list(table["replica"]) == [0, 1, 2, 3] and (table["busy_fraction"] > 0).all()
    # totals are the replicas' sums
    assert s["kv_blocks"] == 4 * run(scenario()).summary["kv_blocks"]
    assert s["iterations"] == int(res.iterations["steps"].sum())


def test_runs_are_deterministic():
    a, b = run(scenario(replicas=3, router="random")), run(scenario(replicas=3, router="random"))
    assert a.requests.equals(b.requests) and a.iterations.equals(b.iterations)


def test_prefix_aware_routing_finds_more_cached_prefixes_than_round_robin():
    rr = run(scenario(replicas=4, router="round_robin")).summary
    pa = run(scenario(replicas=4, router="prefix_aware")).summary
    assert pa["hbm_prefix_hit_ratio"] > rr["hbm_prefix_hit_ratio"] + 0.05, (pa["hbm_prefix_hit_ratio"],
                                                                           rr["hbm_prefix_hit_ratio"])
    assert pa["ttft_p50_s"] < rr["ttft_p50_s"]


PD = [{"name": "p", "replicas": 2, "role": "prefill"}, {"name": "d", "replicas": 2, "role": "decode"}]


def test_disaggregated_kv_bytes_are_the_prompts_and_cross_the_nics():
    d = scenario(pools=PD, router="round_robin", decode_router="least_kv")
    d["kv"]["prefix_cache"] = {"enabled": False}
    res = run(d, check=True)
    req, s = res.requests, res.summary
    assert s["completed"] == 240 and s["kv_transfers"] == 240
    per_token = 2 * 32 * 8 * 128 * 2      # Llama-3.1-8B: K and V, 32 layers, 8 KV heads of 128, bf16
    assert np.array_equal(req["kv_transfer_bytes"].to_numpy(), per_token * req["input_tokens"].to_numpy(float))
    assert set(req["replica"]) <= {0, 1} and set(req["decode_replica"]) <= {2, 3}
    # every byte leaves a prefill NIC and enters a decode NIC
    for r in range(4):
        out = s[f"link_nic_r{r}->fabric_bytes"]
        into = s[f"link_nic_fabric->r{r}_bytes"]
        sent = req.loc[req["replica"] == r, "kv_transfer_bytes"].sum()
        got = req.loc[req["decode_replica"] == r, "kv_transfer_bytes"].sum()
        assert out == pytest.approx(sent, rel=1e-12) and into == pytest.approx(got, rel=1e-12)
    # TTFT includes the transfer: the first token comes when the KV is in
    assert (req["ttft_s"] >= req["kv_transfer_s"]).all() and (req["kv_transfer_s"] > 0).all()
    # decode replicas decode; prefill replicas only prefill
    it = res.iterations
    assert it.loc[it["replica"] < 2, "decode_tokens"].sum() == 0
    assert it.loc[it["replica"] >= 2, "prefill_tokens"].sum() == 0


def test_decode_side_cache_saves_transfer_bytes():
    res = run(scenario(pools=PD, router="round_robin"), check=True)
    req = res.requests
    per_token = 2 * 32 * 8 * 128 * 2
    sent_tokens = req["kv_transfer_bytes"].to_numpy() / per_token
    held = req["input_tokens"].to_numpy() - sent_tokens
    assert (held >= 0).all() and held.sum() > 0          # shared prompts already cached on the decode side
    assert (held % 16 == 0).all()                        # whole KV blocks
    assert res.summary["kv_transfer_bytes"] == pytest.approx(req["kv_transfer_bytes"].sum())


@pytest.mark.parametrize("sets, field", [
    (["cluster.replicas=0"], "cluster.replicas"),
    (["cluster.replicas=2", "cluster.router=round_robbin"], "cluster.router"),
])
def test_bad_cluster_settings_are_one_line_exit_2(tmp_path, capsys, sets, field):
    args = []
    for s in sets:
        args += ["--set", s]
    cli_error(tmp_path, capsys, scenario(), field, *args)


def cli_error(tmp_path, capsys, data, needle, *args):
    """memsim run on ``data`` fails with exit status 2 and one line that contains ``needle``."""
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    rc = main(["run", str(f), "--quiet", *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


def test_a_pool_naming_an_unknown_platform_is_one_line_exit_2(tmp_path, capsys):
    cli_error(tmp_path, capsys, scenario(pools=[{"name": "a", "platform": "h100_sxmm", "replicas": 2}]),
              "cluster.pools[0].platform")


def test_memsim_run_dispatches_to_the_cluster_and_the_report_has_a_replica_panel(tmp_path):
    from memsim.reports.html import build_html
    from memsim.sim.result import load_result
    res = memsim.run(scenario(replicas=2), out=tmp_path / "r")
    assert res.summary["replicas"] == 2 and (tmp_path / "r" / "replicas.parquet").is_file()
    back = load_result(tmp_path / "r")
    assert back.extras["replicas"].equals(res.extras["replicas"])
    page = build_html({"cluster": back, "one": memsim.run(scenario())})
    panel = page.split('<section id="replicas">')[1].split("</section>")[0]
    assert panel.count("<tr>") == 1 + 2     # header + one row per replica of the cluster run


def test_decode_memory_pressure_holds_kv_on_the_prefill_side():
    d = scenario(pools=[{"name": "p", "replicas": 3, "role": "prefill"}, {"name": "d", "replicas": 1, "role": "decode"}])
    d["workload"]["arrivals"]["rate"] = "40 req/s"
    d["workload"]["output_tokens"]["mean"] = 400
    res = run(d, check=True)
    s, req = res.summary, res.requests
    assert s["completed"] == 240
    assert s["kv_held_requests"] > 0 and s["kv_held_mean_s"] > 0
    held = req[req["kv_held_s"] > 0]
    # a held request's first token waits for its blocks, then for its bytes
    assert (held["ttft_s"] >= held["kv_held_s"] + held["kv_transfer_s"]).all()


def test_heterogeneous_pools_run_on_their_own_platforms():
    d = scenario(pools=[{"name": "p", "replicas": 1, "role": "prefill"},
                        {"name": "d", "platform": "h200_sxm", "tp": 2, "replicas": 1, "role": "decode"}],
                 network={"nic_bandwidth": "400 Gb/s"})
    d["workload"]["num_requests"] = 60
    res = run(d, check=True)
    s = res.summary
    assert s["completed"] == 60 and s["platform"] == "h100_sxm+h200_sxm" and s["tp"] == "1+2"
    # an H200 tp=2 decode replica holds more KV than one H100 prefill replica
    kv = res.extras["replicas"]
    assert s["kv_blocks"] == sum(run(scenario(pools=[p], router="round_robin")).summary["kv_blocks"]
                                 for p in [{"name": "a"}, {"name": "b", "platform": "h200_sxm", "tp": 2}])
    assert list(kv["role"]) == ["prefill", "decode"]


@pytest.mark.parametrize("cluster, field", [
    ({"pools": [{"name": "p", "role": "prefill"}, {"name": "d", "role": "decode", "model": "llama-3.1-70b"}]},
     "cluster.pools[1]: model llama-3.1-70b"),
    ({"pools": [{"name": "p", "role": "prefill"}, {"name": "d", "role": "decode", "tp": 16}]}, "cluster.pools[1].tp"),
    ({"pools": [{"name": "p", "role": "prefill"}, {"name": "d", "role": "decode"}],
      "network": {"nic_bandwidth": "0 Gb/s"}}, "cluster.network.nic_bandwidth"),
    ({"pools": [{"name": "d", "role": "decode"}]}, "cluster.pools: decode pool 'd' has no prefill pool"),
    ({"replicas": 2, "kv_transfer": {"mode": "layerwise"}}, "cluster.kv_transfer.mode: only used with prefill"),
])
def test_bad_pools_are_one_line_exit_2(tmp_path, capsys, cluster, field):
    cli_error(tmp_path, capsys, scenario(**cluster), field)


def test_the_shared_pool_lets_a_replica_load_what_another_stored():
    alone = run(scenario(replicas=4, router="round_robin")).summary
    res = run(scenario(replicas=4, router="round_robin", kv_pool={"tier": "remote"}), check=True)
    s = res.summary
    assert s["completed"] == 240
    assert s["prefix_hit_ratio"] > alone["prefix_hit_ratio"] + 0.1      # found in the pool, not only in HBM
    assert s["loaded_tokens"] > 0 and s["remote_pool_bytes_read"] > 0
    # every pool byte crossed the pool's side and one replica's NIC; nothing else uses the NICs here
    assert s["link_kv_pool_read_bytes"] == pytest.approx(s["remote_pool_bytes_read"], rel=1e-12)
    assert s["link_kv_pool_write_bytes"] == pytest.approx(s["remote_pool_bytes_written"], rel=1e-12)
    assert sum(s[f"link_nic_fabric->r{r}_bytes"] for r in range(4)) == pytest.approx(s["remote_pool_bytes_read"])
    assert sum(s[f"link_nic_r{r}->fabric_bytes"] for r in range(4)) == pytest.approx(s["remote_pool_bytes_written"])
    # loads by a replica that never wrote the block: more loaded than the replica itself wrote
    eng = ClusterEngine(load_scenario(scenario(replicas=4, router="round_robin", kv_pool={"tier": "remote"})))
    eng.run()
    loaded = [rep.parts.hier.loaded_bytes[0] for rep in eng.replicas]
    assert sum(loaded) == eng.pool.store.bytes_read and sum(1 for b in loaded if b > 0) >= 2


def test_a_small_pool_evicts_and_stays_within_capacity():
    res = run(scenario(replicas=2, kv_pool={"tier": "remote", "capacity": "2 GiB"}), check=True)
    s = res.summary
    assert s["remote_pool_evictions"] > 0 and s["remote_pool_peak_bytes"] <= 2 * 2**30


@pytest.mark.parametrize("extra, needle", [
    ({"kv_pool": {"tier": "nvme"}}, "cluster.kv_pool.tier: platform 'h100_sxm' has no tier 'nvme'"),
    ({"kv_pool": {"tier": "remote"}, "tiers": True}, "cluster.kv_pool: the shared pool is every replica's"),
])
def test_bad_pool_settings_are_one_line_exit_2(tmp_path, capsys, extra, needle):
    d = scenario(replicas=2, kv_pool=extra["kv_pool"])
    if extra.get("tiers"):
        d["kv"]["tiers"] = [{"tier": "dram", "capacity": "64 GiB"}]
    cli_error(tmp_path, capsys, d, needle)


@pytest.mark.parametrize("name", ["cluster-mooncake-4xh100", "cluster-disagg-mooncake"])
def test_shipped_cluster_scenarios_run(name, monkeypatch):
    import os
    from pathlib import Path
    # the checkout's ../shared/traces (what the scenario names), or MEMSIM_TRACE_DIR
    traces = Path(os.environ.get("MEMSIM_TRACE_DIR") or Path(__file__).resolve().parents[4] / "shared" / "traces")
    if not (traces / "mooncake_conversation").is_dir():
        pytest.skip(f"shared traces not found at {traces}")
    monkeypatch.setenv("MEMSIM_TRACE_DIR", str(traces))
    res = memsim.run(name, overrides={"workload.limit": 60})
    s = res.summary
    assert s["completed"] == 60 and s["replicas"] == 4 and "slo_attainment" in s


def test_deterministic_across_processes(tmp_path):
    import json
    import os
    import subprocess
    import sys
    f = tmp_path / "s.yaml"
    d = scenario(pools=PD, router="prefix_aware", kv_pool={"tier": "remote"})
    d["workload"]["num_requests"] = 80
    f.write_text(yaml.safe_dump(d))
    code = ("import json, sys, memsim; s = memsim.run(sys.argv[1]).summary; "
            "print(json.dumps({k: v for k, v in s.items() if k not in ('wall_time_s', 'sim_speed')}, default=str))")
    outs = []
    for seed in ("1", "2"):   # set and dict orders differ between the processes
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, env=env)
        assert p.returncode == 0, p.stderr
        outs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1]


def test_layerwise_transfer_overlaps_the_last_prefill_iteration():
    base = scenario(pools=PD, router="round_robin")
    base["kv"]["prefix_cache"] = {"enabled": False}
    after = run(base, check=True)
    lw = copy.deepcopy(base)
    lw["cluster"]["kv_transfer"] = {"mode": "layerwise"}
    res = run(lw, check=True)
    a, b = after.requests, res.requests
    assert res.summary["completed"] == 240
    # the same bytes (no prefix cache: whole prompts), over the same NICs
    assert np.array_equal(a["kv_transfer_bytes"].to_numpy(), b["kv_transfer_bytes"].to_numpy())
    assert res.summary["link_nic_r0->fabric_bytes"] + res.summary["link_nic_r1->fabric_bytes"] == \
        pytest.approx(b["kv_transfer_bytes"].sum())
    # streamed while the prompt's last layers were computed: the first token comes sooner
    assert res.summary["ttft_mean_s"] < after.summary["ttft_mean_s"]
    # the first request meets an idle cluster: its transfer hides behind its last iteration's
    # compute but for (about) one layer's share
    t_after, t_lw, wire = a["ttft_s"][0], b["ttft_s"][0], a["kv_transfer_s"][0]
    assert t_after - wire <= t_lw < t_after - 0.5 * wire, (t_after, t_lw, wire)


# Routers that read kv_blocks_used (least_kv, prefix_aware's KV term) see the blocks a
# closed-form run allocates only when the run ends (docs/cluster.md), so on a decode-heavy
# replica they may choose differently from a stepped run; the replicas and the handoff
# themselves must give the same numbers, which these routers show.
@pytest.mark.parametrize("cluster", [
    {"replicas": 3, "router": "least_kv"},
    {"pools": PD, "router": "prefix_aware", "decode_router": "round_robin"},
    {"pools": PD, "router": "round_robin"},
    {"replicas": 2, "router": "round_robin", "kv_pool": {"tier": "remote", "capacity": "4 GiB"}},
])
def test_closed_form_equals_stepping_every_iteration_in_a_cluster(cluster):
    a = run(scenario(**cluster), check=True)
    d = scenario(**cluster)
    d["engine"] = {"closed_form": False}
    b = run(d)
    assert a.summary["iterations"] == b.summary["iterations"]
    assert a.summary["batch_runs"] < b.summary["batch_runs"]     # closed form really skipped steps
    for col in ("replica", "decode_replica", "ttft_s", "tpot_s", "e2e_s", "prefix_hit_tokens", "kv_transfer_bytes"):
        np.testing.assert_allclose(a.requests[col], b.requests[col], rtol=1e-9, atol=1e-9, err_msg=col)


def test_slo_goodput_in_one_replica_and_cluster_runs():
    d = scenario()
    d["slo"] = {"ttft": "2 s", "tpot": "50 ms"}
    one = run(d).summary
    req = run(d).requests
    met = ((req["status"] == "completed") & (req["ttft_s"] <= 2.0) & (req["tpot_s"].isna() | (req["tpot_s"] <= 0.05)))
    assert one["slo_met"] == int(met.sum()) and one["goodput_req_s"] == pytest.approx(met.sum() / one["sim_time_s"])
    d["cluster"] = {"replicas": 2}
    two = run(d).summary
    assert two["slo_attainment"] > one["slo_attainment"]     # twice the GPUs, the same load
    assert "slo_met" not in run(scenario()).summary


def test_a_reserving_allocation_reserves_on_the_decode_replica_too():
    def pd(alloc):
        d = scenario(pools=PD, router="round_robin")
        d["kv"]["allocation"] = alloc
        d["kv"]["prefix_cache"] = {"enabled": False}
        return run(d, check=True).summary
    paged, max_len = pd("paged"), pd("max_length")
    assert paged["completed"] == max_len["completed"] == 240
    # a max-length reservation per request fills the decode replicas sooner: more KV held back
    assert max_len["kv_held_requests"] > paged["kv_held_requests"]


def test_the_pd_synthetic_scenario_and_its_aggregated_twin_run():
    pd_ = memsim.run("cluster-pd-synthetic", overrides={"workload.num_requests": 40}).summary
    agg = memsim.run("cluster-pd-synthetic", overrides={"workload.num_requests": 40, "cluster.replicas": 4,
                                                        "cluster.pools": None, "cluster.decode_router": None}).summary
    assert pd_["completed"] == agg["completed"] == 40
    assert pd_["kv_transfers"] == 40 and "kv_transfers" not in agg and agg["replicas"] == 4
