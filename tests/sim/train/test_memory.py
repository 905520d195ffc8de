"""Memory per step matches the closed forms: ZeRO's model states, the activation-recomputation
paper's per-layer bytes, the sublinear-memory paper's O(sqrt(n)), 1F1B's in-flight micro-batches."""
from __future__ import annotations

import math

import pytest

from memsim.sim.train.activations import checkpoint_peak, layer_activations, segments
from memsim.sim.train.layout import layer_params, resolve
from memsim.sim.train.memory import plan_memory, split_bytes
from memsim.workloads.model import load_model

from .conftest import make

PSI = 8_030_261_248          # Llama-3.1-8B parameters (workloads/models/llama-3.1-8b.yaml)


def _states(plan, stage=0):
    return plan.state_bytes(stage, kind="state")


@pytest.mark.parametrize("dp", [1, 2, 8])
@pytest.mark.parametrize("zero", [0, 1, 2, 3])
def test_model_states_match_zero_closed_forms(dp, zero):
    # ZeRO paper, Sec. 5: (2+2+K)Psi, 2Psi+2Psi+K Psi/Nd, 2Psi+(2+K)Psi/Nd, (2+2+K)Psi/Nd with K = 12
    plan = plan_memory(resolve(make(parallelism={"dp": dp, "zero_stage": zero})))
    s = _states(plan)
    k = 12
    assert PSI % dp == 0
    expect = {0: (2 * PSI, 2 * PSI, k * PSI), 1: (2 * PSI, 2 * PSI, k * PSI // dp),
              2: (2 * PSI, 2 * PSI // dp, k * PSI // dp), 3: (2 * PSI // dp, 2 * PSI // dp, k * PSI // dp)}[zero]
    assert (s["params"], s["grads"], s["optimizer"]) == expect
    if zero == 3:
        assert s["params"] + s["grads"] + s["optimizer"] == 16 * PSI // dp   # 16 bytes / parameter / Nd


def test_optimizer_bytes_follow_precision():
    # 8-bit Adam moments with an fp32 master copy: K = 4 + 2 x 1; pure bf16 with bf16 moments: K = 4
    eight = _states(plan_memory(resolve(make(precision={"states": "int8"}, parallelism={"zero_stage": 1}))))
    pure = _states(plan_memory(resolve(make(precision={"master": "none", "states": "bf16"},
                                            parallelism={"zero_stage": 1}))))
    assert eight["optimizer"] == 6 * PSI // 8 and pure["optimizer"] == 4 * PSI // 8


def test_tensor_and_pipeline_parallel_split_the_parameters(llama8b):
    lay = resolve(make(parallelism={"tp": 2, "pp": 2, "dp": 2, "zero_stage": 1}))
    split, repl = layer_params(llama8b)
    assert llama8b.layers * (split + repl) + 2 * llama8b.vocab * llama8b.hidden + llama8b.hidden \
        == llama8b.params_total
    per_layer = split // 2 + repl
    st0, st1 = lay.stages
    assert st0.params == 16 * per_layer + llama8b.vocab * llama8b.hidden // 2
    assert st1.params == 16 * per_layer + llama8b.hidden + llama8b.vocab * llama8b.hidden // 2
    s = _states(plan_memory(lay), 1)
    assert s["optimizer"] == 12 * math.ceil(st1.params / 2) and s["params"] == 2 * st1.params


# ---- activations: "Reducing Activation Recomputation in Large Transformer Models" ------------------

S, B, H, A, V = 2048, 2, 1024, 16, 4096


@pytest.fixture
def gpt_spec(gpt):
    return load_model(gpt(hidden=H, heads=A, vocab=V))


def test_gpt_layer_is_34sbh_plus_5as2b(gpt_spec):
    acts = layer_activations(gpt_spec, micro_batch=B, seq_len=S, attention="eager", dropout=True)
    assert acts.full == S * B * H * 34 + 5 * A * S * S * B                # Eq. 1: sbh(34 + 5as/h)
    assert acts.selective == 34 * S * B * H                              # selective recompute
    assert acts.layer_input == 2 * S * B * H                             # full recompute keeps 2sbh


@pytest.mark.parametrize("t", [2, 4, 8])
def test_tensor_and_sequence_parallel_forms(gpt_spec, t):
    sp = layer_activations(gpt_spec, micro_batch=B, seq_len=S, tp=t, attention="eager", dropout=True)
    assert sp.full * t == S * B * H * 34 + 5 * A * S * S * B             # Eq. 3: sbh/t (34 + 5as/h)
    assert sp.selective * t == 34 * S * B * H and sp.layer_input * t == 2 * S * B * H
    assert sp.head * t == 4 * S * B * H * (1 + V / H)                      # output layer: 4sbh/t (1 + v/h)
    no_sp = layer_activations(gpt_spec, micro_batch=B, seq_len=S, tp=t, sequence_parallel=False,
                              attention="eager", dropout=True)
    assert no_sp.full * t == S * B * H * (10 * t + 24) + 5 * A * S * S * B   # Eq. 2: sbh(10 + 24/t + 5as/(ht))


def test_flash_attention_and_gqa_generalisation(llama8b):
    acts = layer_activations(llama8b, micro_batch=1, seq_len=4096)
    h, q, kv, f = 4096, 4096, 1024, 14336
    per_token = 2 * (2 * h + h + (q + kv) + kv + q + h + 3 * f) + 4 * 32   # bf16 tensors + fp32 LSE
    assert acts.full == 4096 * per_token
    assert acts.core_bytes == 4096 * 32 * 4


def test_plan_rows_for_each_checkpointing_scheme(gpt):
    path = gpt(layers=8, hidden=H, heads=A, vocab=V)
    m = load_model(path)
    acts = layer_activations(m, micro_batch=1, seq_len=S)
    for scheme, stored, extra in (("none", 8 * acts.full, 0),
                                  ("selective", 8 * acts.selective, acts.core_bytes),
                                  ("full", 8 * acts.layer_input, acts.full),
                                  ({"every": 4}, 2 * acts.layer_input, 4 * acts.full)):
        plan = plan_memory(resolve(make(model=str(path), seq_len=S, checkpointing=scheme,
                                        parallelism={"dp": 1})))
        rows = {r.item: r.bytes_per_device for r in plan.rows if r.state == "activations"}
        assert rows["stored (1 micro-batch in flight)"] == stored, scheme
        assert rows.get("recompute working set", 0) == extra, scheme
        assert rows["output layer and fp32 logits"] == acts.head


# ---- "Training Deep Nets with Sublinear Memory Cost" ----------------------------------------------

def test_checkpoint_peak_is_sqrt_n():
    x, a = 10, 170                       # a layer's input vs everything it stores
    for n in (16, 64, 256, 1024):
        k = int(math.isqrt(n))
        assert checkpoint_peak(n, k, x, a) == k * x + k * a       # n/k inputs + one segment of k layers
    # quadrupling the depth doubles the memory with sqrt(n) segments, quadruples it without
    assert checkpoint_peak(1024, 32, x, a) == 2 * checkpoint_peak(256, 16, x, a)
    assert checkpoint_peak(7, 3, x, a) == max(1 * x + 3 * a, 2 * x + 3 * a, 3 * x + 1 * a)
    assert segments(7, 3) == [3, 3, 1] and checkpoint_peak(9, 1, x, a) == 9 * x + a


def test_sqrt_scheme_scales_as_sqrt_depth(gpt):
    def peak(layers):
        path = gpt(layers=layers, hidden=H, heads=A, vocab=V, name=f"gpt-{layers}")
        plan = plan_memory(resolve(make(model=str(path), seq_len=S, checkpointing="sqrt",
                                        parallelism={"dp": 1})))
        return sum(r.bytes_per_device for r in plan.rows if r.state == "activations"
                   and r.item != "output layer and fp32 logits")
    assert peak(64) == 2 * peak(16) and peak(256) == 2 * peak(64)


# ---- pipelines ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["1f1b", "gpipe"])
def test_in_flight_micro_batches(gpt, schedule):
    path = gpt(layers=8, hidden=H, heads=A, vocab=V)
    acts = layer_activations(load_model(path), micro_batch=1, seq_len=S)
    lay = resolve(make(model=str(path), seq_len=S, global_batch=8,
                       parallelism={"dp": 1, "pp": 4, "schedule": schedule}))
    plan = plan_memory(lay)
    for s in range(4):
        stored = sum(r.bytes_per_device for r in plan.rows if r.stage == s and r.item.startswith("stored"))
        held = (4 - s) if schedule == "1f1b" else 8
        assert stored == held * 2 * acts.full
    # 1F1B: the first stage holds p micro-batches of L/p layers = the whole model's activations
    first = sum(r.bytes_per_device for r in plan.rows if r.stage == 0 and r.item.startswith("stored"))
    assert schedule == "gpipe" or first == 8 * acts.full


# ---- placement over tiers ---------------------------------------------------------------------------

def test_split_bytes_is_exact():
    assert split_bytes(10, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == {"a": 3, "b": 3, "c": 4}
    assert sum(split_bytes(123_456_789, {"x": 0.7, "y": 0.3}).values()) == 123_456_789


def test_offloaded_states_are_counted_for_the_node():
    lay = resolve(make(parallelism={"zero_stage": 3},
                       placement={"optimizer": "dram", "grads": "dram", "params": {"hbm": 0.5, "dram": 0.5}}))
    plan = plan_memory(lay)
    dram = sum(r.bytes_per_device * r.devices for r in plan.rows if r.tier == "dram")
    shard = PSI // 8
    states = 12 * shard + 2 * shard + shard         # optimizer + grads + half the weights, per rank
    assert dram == 8 * states and plan.used["dram"] == dram
    hbm_rows = [r for r in plan.rows if r.tier == "hbm"]
    assert plan.used["hbm"] == sum(r.bytes_per_device for r in hbm_rows)


def test_reserve_and_limits_count(layout):
    plain = plan_memory(layout())
    tight = plan_memory(layout(memory={"reserve": "2 GiB", "hbm": "10 GiB"}))
    assert tight.used["hbm"] == plain.used["hbm"] + 2 * 2**30
    assert tight.capacity["hbm"] == 10 * 2**30 and not tight.fits and "hbm" in tight.over()
