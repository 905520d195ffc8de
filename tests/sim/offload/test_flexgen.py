"""FlexGen-style offload: the LP search against a grid, memory limits, monotonicity."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError, SimulationError
from memsim.hwmodels import load_platform
from memsim.policies import create
from memsim.sim.offload.flexgen import build_problem, evaluate, evaluate_many, grid_placements, search, solve_lp
from memsim.workloads.model import load_model

GiB = 2**30
ARGS = dict(batch=32, prompt_len=256, gen_len=16)


@pytest.fixture(scope="module")
def rtx():
    return load_platform("rtx4090")


@pytest.fixture(scope="module")
def opt30():
    return load_model("opt-30b")


def test_grid_has_every_simplex_point():
    g = grid_placements(4)
    assert g.shape == (15**3, 9)
    assert np.allclose(g.reshape(-1, 3, 3).sum(axis=2), 1.0)
    assert len({tuple(r) for r in g}) == len(g)


@pytest.mark.parametrize("gpu_gib", [12, 24])
@pytest.mark.parametrize("k", [1, 4])
def test_lp_beats_every_feasible_grid_point(rtx, opt30, gpu_gib, k):
    prob = build_problem(platform=rtx, model=opt30, num_gpu_batches=k, gpu_mem_bytes=gpu_gib * GiB,
                         **ARGS)
    x = solve_lp(prob)
    best = evaluate(prob, x)
    assert best["fits"]
    for d in ("gpu", "cpu", "disk"):
        assert best[f"{d}_bytes"] <= best[f"{d}_capacity_bytes"] * (1 + 1e-9)
    r = evaluate_many(prob, grid_placements(4))
    assert r["fits"].any()
    assert best["throughput_tokens_per_s"] >= r["throughput_tokens_per_s"][r["fits"]].max() \
        * (1 - 1e-9)


def test_search_respects_memory_and_beats_grid(rtx, opt30):
    pol, ev = search(platform=rtx, model=opt30, **ARGS)
    pol.check()
    assert ev["fits"] and ev["gpu_bytes"] <= rtx.tier("hbm").capacity * (1 + 1e-9)
    assert ev["cpu_bytes"] <= rtx.tier("dram").capacity_total * (1 + 1e-9)
    prob = build_problem(platform=rtx, model=opt30, num_gpu_batches=pol.num_gpu_batches, **ARGS)
    again = evaluate(prob, pol)
    assert again["total_s"] == pytest.approx(ev["total_s"], rel=1e-6)
    r = evaluate_many(prob, grid_placements(3))
    assert ev["throughput_tokens_per_s"] >= r["throughput_tokens_per_s"][r["fits"]].max() * (1 - 1e-9)


def test_more_gpu_memory_never_lowers_best_throughput(rtx, opt30):
    tps = [search(platform=rtx, model=opt30, gpu_mem_bytes=g * GiB, **ARGS)[1]
           ["throughput_tokens_per_s"] for g in (6, 10, 16, 24, 48, 96)]
    assert all(b >= a * (1 - 1e-9) for a, b in zip(tps, tps[1:])), tps
    assert tps[-1] > 2 * tps[0]


def test_lp_time_equals_evaluated_time(rtx, opt30):
    prob = build_problem(platform=rtx, model=opt30, gpu_mem_bytes=16 * GiB, **ARGS)
    x = solve_lp(prob)
    pre = (prob.prefill_coef @ x + prob.prefill_const).max()
    dec = (prob.decode_coef @ x + prob.decode_const).max()
    assert evaluate(prob, x)["total_s"] == pytest.approx(prob.layers * (pre + 15 * dec))


def test_all_on_gpu_is_best_when_it_fits(rtx):
    small = load_model("opt-6.7b")
    pol, ev = search(platform=rtx, model=small, batch=4, prompt_len=128, gen_len=8)
    assert pol.weights == pytest.approx((1, 0, 0)) and pol.kv == pytest.approx((1, 0, 0))
    assert ev["decode_bound"] == "compute"


def test_offloading_weights_costs_pcie_time(rtx, opt30):
    prob = build_problem(platform=rtx, model=opt30, gpu_mem_bytes=1000 * GiB, **ARGS)
    on_gpu = evaluate(prob, create("offload", "flexgen"))
    on_cpu = evaluate(prob, create("offload", {"name": "flexgen", "weights": [0, 1, 0]}))
    on_disk = evaluate(prob, create("offload", {"name": "flexgen", "weights": [0, 0, 1]}))
    assert on_gpu["throughput_tokens_per_s"] > on_cpu["throughput_tokens_per_s"] \
        > on_disk["throughput_tokens_per_s"]
    assert on_cpu["decode_bound"] == "cpu_to_gpu" and on_disk["decode_bound"] == "disk"
    assert not evaluate(build_problem(platform=rtx, model=opt30, **ARGS),
                        create("offload", "flexgen"))["fits"]     # 60 GB of weights in 24 GiB


def test_nothing_fits_is_one_error(rtx, opt30):
    with pytest.raises(SimulationError, match="no placement"):
        search(platform=rtx, model=opt30, gpu_mem_bytes=1 * GiB, cpu_mem_bytes=1 * GiB,
               disk_bytes=10 * GiB, **ARGS)


def test_bad_inputs(rtx, opt30):
    with pytest.raises(ConfigError, match="num_gpu_batches"):
        build_problem(platform=rtx, model=opt30, batch=6, prompt_len=8, gen_len=2, num_gpu_batches=4)
    with pytest.raises(ConfigError, match="no hbm"):
        build_problem(platform=load_platform("laptop_flash"), model=opt30, **ARGS)


def test_fixed_tensor_classes_are_respected_and_cost_no_less(rtx, opt30):
    """Serving pins KV and activations to the GPU; the LP then only splits the weights."""
    prob = build_problem(platform=rtx, model=opt30, batch=4, prompt_len=256, gen_len=16)
    free = solve_lp(prob)
    fixed = solve_lp(prob, {"kv": (1, 0, 0), "activations": (1, 0, 0)})
    assert np.allclose(fixed[3:], [1, 0, 0, 1, 0, 0])
    assert np.isclose(fixed[:3].sum(), 1.0)
    assert evaluate(prob, fixed)["fits"]
    assert evaluate(prob, fixed)["total_s"] >= evaluate(prob, free)["total_s"] * (1 - 1e-9)
