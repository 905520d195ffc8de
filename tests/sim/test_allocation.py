"""KV allocation policies: waste and the batch size they allow (PagedAttention's comparison)."""
from __future__ import annotations

import numpy as np

import memsim
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine

SCHEMES = {
    "max_length": {"name": "max_length", "max_tokens": 8192},
    "predicted": {"name": "predicted", "error": 0.5},
    "paged": "paged",
    "vattention_2m": {"name": "vattention", "page_size": "2 MiB"},
    "vattention_64k": {"name": "vattention", "page_size": "64 KiB"},
}


def busy(scenario, alloc, **over):
    return scenario(kv={"block_tokens": 16, "allocation": alloc, "memory_fraction": 0.3},
                    workload={"kind": "synthetic", "num_requests": 300,
                              "arrivals": {"process": "poisson", "rate": "40 req/s"},
                              "input_tokens": {"dist": "lognormal", "mean": 1000, "sigma": 0.6, "max": 4000},
                              "output_tokens": {"dist": "lognormal", "mean": 250, "sigma": 0.6, "max": 2000}},
                    scheduler={"max_batch_size": 256, "max_batch_tokens": 8192}, **over)


def run_all(scenario):
    out = {}
    for key, alloc in SCHEMES.items():
        eng = Engine(load_scenario(busy(scenario, alloc)), check=True)
        out[key] = eng.run().summary
    return out


def test_waste_and_batch_size_by_scheme(scenario):
    r = run_all(scenario)
    assert r["max_length"]["kv_waste_fraction"] > 0.5         # most reserved memory unused
    assert r["paged"]["kv_waste_fraction"] < 0.04             # PagedAttention: near zero
    assert r["vattention_64k"]["kv_waste_fraction"] < r["vattention_2m"]["kv_waste_fraction"]
    assert r["paged"]["kv_waste_fraction"] < r["predicted"]["kv_waste_fraction"] < r["max_length"]["kv_waste_fraction"]
    assert r["max_length"]["mean_batch_size"] < r["paged"]["mean_batch_size"]
    assert r["predicted"]["kv_regrows"] > 0                   # mispredictions cost regrowth
    for s in r.values():
        assert s["completed"] == 300


def test_max_length_rejects_requests_longer_than_the_slot(scenario):
    res = memsim.run(busy(scenario, {"name": "max_length", "max_tokens": 1024}))
    rej = res.requests[res.requests.status == "rejected"]
    assert len(rej) > 0 and rej.reason.str.contains("max_length").all()
    assert ((rej.input_tokens + rej.output_tokens) > 1024).all()


def test_closed_form_equals_stepping_with_reservations(scenario):
    a = memsim.run(busy(scenario, SCHEMES["predicted"]))
    b = memsim.run(busy(scenario, SCHEMES["predicted"], engine={"closed_form": False}))
    for col in ("ttft_s", "tpot_s", "regrows"):
        np.testing.assert_allclose(a.requests[col], b.requests[col], rtol=1e-9, atol=1e-9, err_msg=col)


def test_azure_trace_paged_wastes_under_4_percent(azure_trace, scenario):
    base = {"platform": "a100_sxm_80gb", "model": "llama-3.1-8b",
            "workload": {"kind": "azure", "path": str(azure_trace), "limit": 3000, "time_scale": 6.0}}
    paged = memsim.run(base | {"kv": {"allocation": "paged"}}).summary
    maxlen = memsim.run(base | {"kv": {"allocation": {"name": "max_length", "max_tokens": 16384}}}).summary
    assert paged["kv_waste_fraction"] < 0.04
    assert maxlen["kv_waste_fraction"] > 0.6
    assert maxlen["mean_batch_size"] < paged["mean_batch_size"]
