"""Sampling is bounded by events, not by simulated time (issue 17): a cap on sample times,
idle gaps in O(1) Python work, traffic conserved when the grid is thinned."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from memsim.cli import main
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine
from memsim.sim.sampling import MAX_SAMPLES, Samples, SamplingWarning
from memsim.workloads.synthetic import write_mooncake_like


def _synthetic(rate: str, n: int) -> dict:
    return {"kind": "synthetic", "num_requests": n, "arrivals": {"process": "poisson", "rate": rate},
            "input_tokens": {"dist": "lognormal", "mean": 500, "sigma": 0.5, "max": 4000},
            "output_tokens": {"dist": "lognormal", "mean": 40, "sigma": 0.5, "max": 200}}


def _write(tmp_path, workload, **over) -> str:
    scen = {"version": 1, "name": "sparse", "seed": 2, "platform": "h100_sxm", "model": "llama-3.1-8b",
            "workload": workload, "kv": {"block_tokens": 16}, **over}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scen))
    return str(path)


@pytest.mark.timeout(120)
def test_arrivals_over_a_billion_seconds_take_a_bounded_number_of_samples(tmp_path, capsys):
    path = _write(tmp_path, _synthetic("3e-8 req/s", 30))    # ~30 arrivals over ~10^9 s
    assert main(["run", path, "--out", str(tmp_path / "r"), "--quiet", "--no-report"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("memsim: warning: engine.sample_interval: 1 s would take")
    tiers = pd.read_parquet(tmp_path / "r" / "tiers.parquet")
    requests = pd.read_parquet(tmp_path / "r" / "requests.parquet")
    assert requests.arrival_s.max() > 3e8 and (requests.status == "completed").all()
    assert len(tiers) <= MAX_SAMPLES + 1                   # one tier: one row per sample time
    t = tiers.time_s.to_numpy()
    assert (np.diff(t) > 0).all() and t[-1] == requests.finish_s.max()


@pytest.mark.timeout(120)
def test_a_nanosecond_interval_is_widened_with_one_warning(tmp_path, capsys):
    path = _write(tmp_path, _synthetic("20 req/s", 40))
    assert main(["run", path, "--set", "engine.sample_interval=1 ns", "--out", str(tmp_path / "r"),
                 "--quiet", "--no-report"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "engine.sample_interval: 1e-09 s" in err[0] and "sampled every" in err[0]
    assert len(pd.read_parquet(tmp_path / "r" / "tiers.parquet")) <= MAX_SAMPLES + 1


def test_a_normal_run_is_not_widened(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)
        res = Engine(load_scenario(_write(tmp_path, _synthetic("20 req/s", 40)))).run()
    t = res.tiers.time_s.to_numpy()
    assert np.allclose(np.diff(t[:-1]), 1.0)               # the requested 1 s grid, then the end


def test_thinning_keeps_the_cap_and_conserves_every_links_bytes(tmp_path):
    trace = write_mooncake_like(tmp_path / "m.jsonl", 150, seed=4)
    scen = load_scenario({"platform": "h100_sxm", "model": "llama-3.1-8b", "seed": 0, "parallelism": {"tp": 2},
                          "workload": {"kind": "mooncake", "path": str(trace), "time_scale": 0.3},
                          "kv": {"block_tokens": 16, "memory_fraction": 0.22,
                                 "tiers": [{"tier": "dram", "capacity": "1 GiB"}, {"tier": "ssd"}]},
                          "engine": {"sample_interval": "10 ms"}})
    eng = Engine(scen, max_samples=40, check=True)
    with pytest.warns(SamplingWarning, match="sampled every"):
        res = eng.run()
    for name, g in res.tiers.groupby("tier"):
        assert len(g) <= 41 and (np.diff(g.time_s.to_numpy()) > 0).all(), name
    links = res.links
    for (name, direction), ch in eng.hier.channels.items():
        sampled = links[(links.link == name) & (links.direction == direction)]["bytes"].sum()
        assert sampled == pytest.approx(ch.bytes_total, rel=1e-6, abs=1), (name, direction)
    full = Engine(scen).run()      # the same run sampled at full resolution
    assert res.summary["link_bytes"] == pytest.approx(full.summary["link_bytes"], rel=1e-9)
    assert res.requests.equals(full.requests)             # sampling never changes the simulation


def test_the_cap_is_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "engine.md").read_text()
    assert f"at most {MAX_SAMPLES:,}\nsample times" in text


def test_an_idle_gap_is_constant_work():
    calls = []

    def state():
        calls.append(1)
        return [1, 2, 3, 4, 5], [6.0], [7.0]
    s = Samples(interval_s=1e-9, tiers=["hbm"], capacities=[10], links=[("pcie", "both")],
                bandwidths=[1e9], state=state, max_samples=1000)
    s.take(0.0)
    s.take(1e12)                   # 10^21 intervals later
    s.close(1e12 + 5)
    assert s.n <= 1001 and len(calls) == 3
    cols = s.link_columns()
    assert cols["bytes"].sum() == 21.0                      # every call's traffic, once
    assert (np.diff(s.tier_columns()["time_s"]) > 0).all()
