"""The plan search returns the fastest candidate that fits (checked by brute force); what fits per
strategy: ZeRO-Infinity's trillion-parameter node, ZeRO-Offload's 10x on one GPU, bisection edges."""
from __future__ import annotations

import pytest

from memsim.ground.errors import SimulationError
from memsim.sim.train.fit import fit_limits, max_layers, max_seq_len, strategies_for
from memsim.sim.train.layout import resolve
from memsim.sim.train.memory import plan_memory
from memsim.sim.train.result import evaluate
from memsim.sim.train.run import run_train
from memsim.sim.train.search import candidate_placements, search_plans, variant
from memsim.workloads.model import load_model

from .conftest import make


def _tight(gpt):
    path = gpt(layers=4, hidden=1024, heads=16, vocab=2048)
    # a small HBM budget, so that only some plans fit and offload has to earn its place
    return make(model=str(path), seq_len=2048, global_batch=8, memory={"hbm": "400 MiB"})


def test_search_finds_the_fastest_fitting_plan(gpt):
    sc = _tight(gpt)
    kw = dict(zero_stages=(1, 3), checkpointing=("none", "full"), micro_batches=(1, 2))
    found = search_plans(sc, **kw)
    fitting = [r for r in found.table if r["fits"]]
    assert fitting and len(fitting) < len(found.table)
    times = []
    for r in fitting:
        cand = variant(sc, parallelism={"zero_stage": r["zero_stage"]}, placement=r["placement"],
                       checkpointing=r["checkpointing"], micro_batch=r["micro_batch"])
        times.append(evaluate(resolve(cand)).summary["step_s"])
    best = found.best.summary
    assert best["fits"] and best["step_s"] == pytest.approx(min(times), rel=1e-9)
    assert found.simulated < len(fitting)          # the lower bound pruned the rest
    again = search_plans(sc, **kw).best.summary
    assert again == best


def test_search_through_the_scenario_and_no_fit_error(gpt):
    sc = _tight(gpt).model_copy(update={"search": True})
    assert run_train(sc).summary["search"]["fitting"] > 0
    with pytest.raises(SimulationError, match="no plan .* fits on h100_sxm; the smallest plan needs"):
        search_plans(make(model="llama-3.1-70b", seq_len=4096, global_batch=8,
                          memory={"hbm": "1 GiB"}))


def test_candidate_placements_use_the_platforms_tiers(scenario):
    from memsim.hwmodels import load_platform
    sxm, cxl = load_platform("h100_sxm"), load_platform("h100_cxl")
    tiers = {t for p in candidate_placements(sxm, 3) for v in p.values() for t in v}
    assert tiers == {"hbm", "dram", "ssd"}
    assert any(p["optimizer"] == {"dram": 0.5, "cxl": 0.5} for p in candidate_placements(cxl, 2))
    assert all(p["params"] == {"hbm": 1.0} for p in candidate_placements(sxm, 2))


def test_zero_infinity_fits_a_trillion_parameters_on_one_node():
    # ZeRO-Infinity: "fine-tune trillion parameter models on a single NVIDIA DGX-2 node"; on a DGX
    # H100-like node the 30.7 TB of NVMe hold ~1.9 T parameters at 16 bytes each
    sc = make(model="llama-3.1-70b", seq_len=2048, global_batch=8, checkpointing="full")
    rows = {r["strategy"]: r for r in fit_limits(sc, simulate=False)}
    inf, gpu = rows["ZeRO-Infinity (NVMe)"], rows["ZeRO-3"]
    assert inf["max_params"] > 1e12 and inf["max_params"] > 30 * gpu["max_params"]
    nvme = 8 * 3.84e12
    assert 0.95 * nvme < 16 * inf["max_params"] <= nvme            # the NVMe is what runs out
    assert rows["ZeRO-3 CPU offload"]["max_params"] * 16 == pytest.approx(2 * 2**40, rel=0.05)


def test_zero_offload_trains_ten_times_larger_on_one_gpu():
    # ZeRO-Offload: 13 B parameters on one 32 GB V100 against 1.4 B for PyTorch DDP (~10x)
    sc = make(platform="a100_sxm_80gb", model="llama-2-7b", seq_len=1024, global_batch=1,
              parallelism={"dp": 1}, checkpointing="full")
    rows = {r["strategy"]: r for r in fit_limits(sc, simulate=False)}
    ratio = rows["ZeRO-Offload"]["max_params"] / rows["data parallel"]["max_params"]
    assert 6 < ratio < 10


def test_bisection_edges():
    sc = make(model="llama-3.1-8b", seq_len=4096, global_batch=8, parallelism={"zero_stage": 3},
              checkpointing="full")
    base = resolve(sc)
    n = max_layers(sc, base.model, base.platform)
    assert plan_memory(resolve(sc, model=base.model.model_copy(update={"layers": n}))).fits
    assert not plan_memory(resolve(sc, model=base.model.model_copy(update={"layers": n + 1}))).fits
    s = max_seq_len(sc, base.model, base.platform)
    assert s % 128 == 0 and plan_memory(resolve(sc.model_copy(update={"seq_len": s}))).fits
    assert not plan_memory(resolve(sc.model_copy(update={"seq_len": s + 128}))).fits


def test_strategies_follow_the_platform_and_the_pipeline():
    names = [s.name for s, _ in strategies_for(make(), load_platform_named("h100_sxm"))]
    assert "ZeRO-3 CXL offload" not in names and "ZeRO-Infinity (NVMe)" in names
    cxl = [s.name for s, _ in strategies_for(make(platform="h100_cxl"), load_platform_named("h100_cxl"))]
    assert "ZeRO-3 CXL offload" in cxl
    piped = [s.zero_stage for s, _ in strategies_for(make(parallelism={"pp": 2}), load_platform_named("h100_sxm"))]
    assert max(piped) == 1


def load_platform_named(name):
    from memsim.hwmodels import load_platform
    return load_platform(name)


def test_max_layers_keeps_the_width():
    m = load_model("llama-3.1-8b")
    sc = make(parallelism={"zero_stage": 3})
    assert max_layers(sc, m, resolve(sc).platform) > m.layers
