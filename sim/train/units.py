"""The units a pipeline stage runs through in order: embedding, its layers, the output head.

A unit is what ZeRO-3 gathers at once and what one gradient bucket holds: its
parameters (per accelerator, after tensor parallelism), its compute per pass,
the activation bytes it stores for the backward pass, and its tensor-parallel
all-reduce bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .layout import Layout, Stage
from .memory import activation_units
from .scenario import BYTES
from .work import head_work, layer_work

__all__ = ["Unit", "stage_units"]


@dataclass(frozen=True)
class Unit:
    name: str
    params: int                # gathered per accelerator (after tensor parallelism)
    owned: int                 # reduced and updated here (a tied head owns only its norm)
    forward_s: float
    backward_s: float
    recompute_s: float
    stored_bytes: int          # activations kept for the backward (one micro-batch)
    offloadable: bool          # layer activations may be swapped to the host
    tp_bytes: float            # all-reduced per pass
    recompute_tp: bool         # the recompute repeats the forward's all-reduces


def stage_units(lay: Layout, st: Stage, kernels) -> list[Unit]:
    sc, model = lay.scenario, lay.model
    ck = sc.checkpointing.scheme
    work = layer_work(model, kernels, micro_batch=sc.micro_batch, seq_len=sc.seq_len, tp=lay.tp,
                      precision=sc.precision, checkpointing=ck)
    acts, stored, _ = activation_units(lay, st)
    e = BYTES[sc.precision.activations]
    tokens = lay.tokens_per_micro_batch
    units = []
    if st.has_embedding:
        embed_params = math.ceil(model.vocab * model.hidden / lay.tp) + model.learned_positions * model.hidden
        t = kernels.elementwise(2 * tokens * model.hidden * e)
        units.append(Unit("embedding", embed_params, embed_params, t, 2 * t, 0.0, acts.embedding, False,
                          0.0, False))
    full_recompute = ck in ("full", "every", "sqrt")
    for i in range(st.layers):
        units.append(Unit(f"layer {st.first_layer + i}", st.layer_params, st.layer_params, work.forward_s,
                          work.backward_s, work.recompute_s, stored[i], True, work.tp_bytes, full_recompute))
    if st.has_head:
        fwd, bwd = head_work(model, kernels, micro_batch=sc.micro_batch, seq_len=sc.seq_len, tp=lay.tp,
                             precision=sc.precision)
        # tied embeddings on one stage: the head reuses the embedding's weights (gathered again,
        # their gradient joins the embedding's); the final norm is the head's own
        head = math.ceil(model.vocab * model.hidden / lay.tp)
        norm = (2 if model.norm == "layernorm" else 1) * model.hidden
        owned = norm + (0 if model.tie_embeddings and lay.pp == 1 else head)
        units.append(Unit("output head", head + norm, owned, fwd, bwd, 0.0, acts.head, False, 0.0, False))
    assert sum(u.owned for u in units) == st.params, "units own exactly the stage's parameters"
    return units
