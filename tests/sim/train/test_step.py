"""The simulated step: sums of kernel times where nothing overlaps, ZeRO's communication volumes,
one extra forward for recomputation, the pipeline bubble, offload traffic that hides or shows."""
from __future__ import annotations

import pytest

from memsim.sim.train.kernels import ATTENTION_BACKWARD_FACTOR, RooflineKernels
from memsim.sim.train.layout import resolve
from memsim.sim.train.result import evaluate, make_kernels
from memsim.sim.train.step import _schedule, simulate_step
from memsim.sim.train.units import stage_units

from .conftest import make


def _step(**over):
    lay = resolve(make(**over))
    return lay, simulate_step(lay, make_kernels(lay))


def _units(lay):
    return stage_units(lay, lay.stages[0], make_kernels(lay))


def test_one_gpu_step_is_the_sum_of_its_kernels():
    lay, t = _step(parallelism={"dp": 1}, global_batch=4)
    k = make_kernels(lay)
    comp = sum(u.forward_s + u.backward_s for u in _units(lay))
    opt = k.elementwise(lay.stages[0].params * (2 + 2 * 12 + 2))
    assert t.step_s == pytest.approx(4 * comp + opt, rel=1e-12)
    assert t.breakdown[0]["forward"] + t.breakdown[0]["backward"] == pytest.approx(4 * comp, rel=1e-12)


def test_backward_is_both_gradient_gemms_plus_attention_and_elementwise(llama8b):
    # each forward GEMM (m, n, k) has an input-gradient (m, k, n) and a weight-gradient (k, n, m)
    # GEMM, each timed at its own shape by the calibrated timer; attention 2.5x, elementwise 2x
    lay = resolve(make())
    k = make_kernels(lay)
    u = _units(lay)[1]
    shapes = _gemm_shapes(llama8b, 2048)
    attn = k.context_attention(1, 2048, 32, 8, 128)
    elem = u.forward_s - attn - sum(k.gemm(*g) for g in shapes)
    grads = sum(k.gemm(m, kk, n) + k.gemm(kk, n, m) for m, n, kk in shapes)
    assert elem > 0
    assert u.backward_s == pytest.approx(grads + ATTENTION_BACKWARD_FACTOR * attn + 2 * elem, rel=1e-9)
    # at these compute-bound shapes the two gradient GEMMs cost about twice the forward ones
    assert 1.7 < grads / sum(k.gemm(*g) for g in shapes) < 2.5


def test_roofline_kernels_make_the_backward_gemms_exactly_twice_the_forward(llama8b):
    lay = resolve(make())
    k = RooflineKernels(lay.platform)
    u = stage_units(lay, lay.stages[0], k)[1]
    attn = k.context_attention(1, 2048, 32, 8, 128)
    elem = u.forward_s - attn - sum(k.gemm(*g) for g in _gemm_shapes(llama8b, 2048))
    assert u.backward_s == pytest.approx(2 * (u.forward_s - attn - elem) + ATTENTION_BACKWARD_FACTOR * attn
                                         + 2 * elem, rel=1e-9)


def _gemm_shapes(m, t):
    return [(t, 4096 + 2 * 1024, 4096), (t, 4096, 4096), (t, 2 * 14336, 4096), (t, 4096, 14336)]


def test_full_recompute_is_one_extra_forward():
    # "Training Deep Nets with Sublinear Memory Cost": the cost of an extra forward pass (30% there)
    lay, none = _step(parallelism={"dp": 1}, global_batch=2)
    _, full = _step(parallelism={"dp": 1}, global_batch=2, checkpointing="full")
    _, sqrt = _step(parallelism={"dp": 1}, global_batch=2, checkpointing="sqrt")
    layers = [u for u in _units(lay) if u.offloadable]
    extra = 2 * sum(u.forward_s for u in layers)
    assert full.step_s - none.step_s == pytest.approx(extra, rel=1e-9)
    assert sqrt.step_s == pytest.approx(full.step_s, rel=1e-12)
    b = full.breakdown[0]
    assert 0.25 < b["recompute"] / (b["forward"] + b["backward"]) < 0.40


@pytest.mark.parametrize("zero, volume", [(0, 2.0), (1, 2.0), (2, 2.0), (3, 3.0)])
def test_zero_communication_volume(zero, volume):
    # ZeRO paper, Sec. 7: data parallelism moves 2 Psi per step (all-reduce = reduce-scatter +
    # all-gather); stages 1 and 2 the same; stage 3 1.5x (weights gathered in forward and backward)
    lay, t = _step(parallelism={"zero_stage": zero}, global_batch=8)
    units = _units(lay)
    psi_bytes = 2 * sum(u.owned for u in units)
    assert t.traffic["nvlink[0]/out"] == pytest.approx(volume * 7 / 8 * psi_bytes, rel=1e-9)


def test_zero3_gathers_every_micro_batch():
    lay, t = _step(parallelism={"zero_stage": 3}, global_batch=32)
    psi_bytes = 2 * sum(u.owned for u in _units(lay))
    assert t.traffic["nvlink[0]/out"] == pytest.approx(4 * 3.0 * 7 / 8 * psi_bytes, rel=1e-9)


def test_tensor_parallel_all_reduces():
    lay, t = _step(parallelism={"tp": 2, "dp": 1}, global_batch=1)
    tokens = 2048
    per_pass = 32 * 2 * tokens * 4096 * 2             # two all-reduces of the hidden state per layer
    assert t.traffic["nvlink[0]/out"] == pytest.approx(2 * per_pass * 2 * (2 - 1) / 2, rel=1e-9)
    assert t.breakdown[0]["tp comm"] > 0


def test_schedule_orders():
    assert _schedule("1f1b", 0, 4, 6) == [("F", 0), ("F", 1), ("F", 2), ("F", 3), ("B", 0), ("F", 4),
                                         ("B", 1), ("F", 5), ("B", 2), ("B", 3), ("B", 4), ("B", 5)]
    assert _schedule("1f1b", 3, 4, 2) == [("F", 0), ("B", 0), ("F", 1), ("B", 1)]
    assert _schedule("gpipe", 1, 2, 2) == [("F", 0), ("F", 1), ("B", 0), ("B", 1)]


@pytest.mark.parametrize("micro", [4, 16])
def test_pipeline_bubble(gpt, micro):
    path = gpt(layers=8, hidden=2048, heads=16, vocab=256)
    lay, t = _step(model=str(path), seq_len=2048, global_batch=micro, parallelism={"dp": 1, "pp": 4})
    per_mb = max(sum(u.forward_s + u.backward_s for u in stage_units(lay, st, make_kernels(lay)))
                 for st in lay.stages)
    busy = t.step_s - t.breakdown[0]["optimizer (gpu)"]        # the pipeline part of the step
    bubble = 1 - micro * per_mb / busy
    assert bubble == pytest.approx(3 / (micro + 3), abs=0.02)        # (p - 1) / (m + p - 1)


def test_activation_offload_hidden_or_exposed():
    base = _step(parallelism={"dp": 1}, global_batch=2, checkpointing="full")[1]
    hidden = _step(parallelism={"dp": 1}, global_batch=2, checkpointing="full",
                   placement={"activations": "dram"})[1]
    assert hidden.step_s == pytest.approx(base.step_s, rel=0.01)          # layer inputs: small
    heavy = _step(parallelism={"dp": 1}, global_batch=2, seq_len=8192, placement={"activations": "dram"})[1]
    plain = _step(parallelism={"dp": 1}, global_batch=2, seq_len=8192)[1]
    waits = heavy.breakdown[0].get("activation offload", 0) + heavy.breakdown[0].get("activation fetch", 0)
    assert heavy.step_s > plain.step_s and waits > 0


def test_cpu_optimizer_streams_host_dram():
    # ZeRO-Offload: Adam on the CPU reads 12 + 2 and writes 12 bytes per parameter in DRAM, and the
    # new bf16 weights go back over PCIe; the phase takes at least the slower of the two
    lay, t = _step(parallelism={"dp": 1, "zero_stage": 2}, global_batch=1,
                   placement={"optimizer": "dram", "grads": "dram"})
    psi = lay.stages[0].params
    dram, pcie = lay.tiers["dram"], lay.platform.link("pcie")
    read_s, upload_s = 14 * psi / dram.read_bw, 2 * psi / pcie.bandwidth
    assert max(read_s, upload_s) <= t.breakdown[0]["optimizer (cpu)"] <= read_s + upload_s
    assert t.traffic["dram/read"] == pytest.approx(16 * psi, rel=1e-9)     # Adam reads + the upload
    assert t.traffic["dram/write"] == pytest.approx(12 * psi + 2 * psi, rel=1e-9)  # states + arriving grads


def test_host_dram_is_shared_by_the_node():
    # 8 ranks each update 1/8 of the states, through one DRAM: the phase is DRAM-bound for the node
    lay, t = _step(parallelism={"dp": 8, "zero_stage": 2}, global_batch=8,
                   placement={"optimizer": "dram", "grads": "dram"})
    psi = lay.stages[0].params
    node_read_s = 16 * psi / lay.tiers["dram"].read_bw
    assert t.traffic["dram/read"] * 8 == pytest.approx(16 * psi, rel=1e-6)
    assert node_read_s <= t.breakdown[0]["optimizer (cpu)"] <= 1.3 * node_read_s


def test_nvme_offload_reads_the_ssd():
    lay, t = _step(parallelism={"zero_stage": 3}, global_batch=8,
                   placement={"params": "ssd", "grads": "dram", "optimizer": "ssd", "activations": "dram"},
                   checkpointing="full")
    units = _units(lay)
    shard = sum(-(-u.params // 8) for u in units)
    assert t.traffic["ssd/read"] == pytest.approx(2 * 2 * shard + 12 * shard, rel=1e-6)
    assert t.traffic["ssd/write"] == pytest.approx(12 * shard + 2 * shard, rel=1e-6)   # states + new weights
    assert t.breakdown[0]["optimizer (cpu)"] > t.breakdown[0]["forward"]


def test_breakdown_sums_to_the_step_and_runs_are_deterministic(gpt):
    path = gpt(layers=8, hidden=1024, heads=16, vocab=512)
    over = dict(model=str(path), seq_len=1024, global_batch=8,
                parallelism={"dp": 2, "pp": 2, "tp": 2, "zero_stage": 1},
                placement={"activations": {"hbm": 0.5, "dram": 0.5}}, checkpointing={"every": 2})
    a, b = (evaluate(resolve(make(**over))) for _ in range(2))
    assert a.summary == b.summary and a.spans == b.spans and a.traffic == b.traffic
    for row in a.breakdown:
        assert sum(row.values()) == pytest.approx(a.summary["step_s"], rel=1e-9)


def test_pipeoffload_selective_offload_is_free():
    # PipeOffload: "at least half, and potentially all, of the activations can be offloaded with
    # negligible overhead" when each stage offloads the micro-batches that wait for their backward
    over = dict(model="qwen2.5-32b", seq_len=4096, global_batch=32, checkpointing="none",
                parallelism={"pp": 4, "tp": 2, "dp": 1, "zero_stage": 1})
    keep = evaluate(resolve(make(**over)))
    sel = evaluate(resolve(make(**over, placement={"activations": "dram"}, activation_offload="selective")))
    uni = evaluate(resolve(make(**over, placement={"activations": "dram"})))
    assert not keep.summary["fits"] and sel.summary["fits"]
    assert sel.summary["step_s"] == pytest.approx(keep.summary["step_s"], rel=0.01)
    assert uni.summary["step_s"] > 1.5 * keep.summary["step_s"]      # the last stage cannot hide it
    last = [r for r in sel.memory if r["stage"] == 3 and r["state"] == "activations" and r["tier"] == "dram"]
    first = [r for r in sel.memory if r["stage"] == 0 and r["tier"] == "dram"]
    assert not last and first        # (n - 1) / n: nothing on the last stage, 3/4 on the first
