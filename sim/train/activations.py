"""Activation memory: the tensors a transformer layer keeps for its backward pass.

Models "Reducing Activation Recomputation in Large Transformer Models"
(Korthikanti et al., MLSys 2023), Section 4: for a GPT layer with 16-bit
activations and 1-byte dropout masks a micro-batch of ``b`` sequences of ``s``
tokens keeps ``s*b*h*(34 + 5*a*s/h)`` bytes; with tensor parallelism ``t`` and
sequence parallelism ``s*b*h/t*(34 + 5*a*s/h)``, without sequence parallelism
``s*b*h*(10 + 24/t + 5*a*s/(h*t))``; selective recomputation drops the ``5*a*s/h``
attention-score part; full recomputation keeps each layer's input, ``2*s*b*h``.
The output layer adds ``4*s*b*h/t*(1 + v/h)`` (fp32 logits for the loss).

The accounting here is the same tensor by tensor, generalised to grouped-query
attention (``kv_heads``), gated FFNs (three ``ffn``-wide tensors), MoE (``active``
experts per token), FlashAttention (no ``s^2`` scores; fp32 softmax statistics
instead) and optional dropout, so it reduces to the paper's formulas exactly for
a GPT layer.  Like the paper, it leaves out norm statistics and the transient
gradient buffers of the backward pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LayerActivations", "layer_activations", "checkpoint_peak", "segments"]


@dataclass(frozen=True)
class LayerActivations:
    """Bytes per accelerator for one micro-batch (all fields int bytes).

    ``tensors``: every stored tensor of one layer -> bytes; ``core``: the subset
    selective recomputation drops (the attention scores / softmax statistics);
    ``layer_input``: what full recomputation keeps; ``embedding`` / ``head``: the
    first and last stage's extra tensors.
    """

    tensors: dict
    core: frozenset
    layer_input: int
    embedding: int
    head: int

    @property
    def full(self) -> int:
        """Everything one layer stores without recomputation."""
        return sum(self.tensors.values())

    @property
    def selective(self) -> int:
        """What a layer stores when the attention core is recomputed."""
        return sum(v for k, v in self.tensors.items() if k not in self.core)

    @property
    def core_bytes(self) -> int:
        return self.full - self.selective


def layer_activations(model, *, micro_batch: int, seq_len: int, tp: int = 1,
                      sequence_parallel: bool = True, attention: str = "flash",
                      dropout: bool = False, act_bytes: int = 2) -> LayerActivations:
    """The stored tensors of one layer (see the module docstring for the source).

    Tensors that tensor parallelism splits are divided by ``tp``; the norm inputs,
    the layer's input and the dropout masks are split only with sequence
    parallelism (Megatron-LM replicates them otherwise).
    """
    e, t = act_bytes, tp
    sp = t if sequence_parallel else 1
    tokens = micro_batch * seq_len
    h, q, kv = model.hidden, model.heads * model.head_dim, model.kv_heads * model.head_dim
    heads = model.heads // t
    act = model.moe.active_experts if model.moe else 1
    f = model.ffn * act
    mask = 1 if dropout else 0

    def rep(per_token: int) -> int:        # replicated unless sequence parallel
        return math.ceil(tokens * per_token / sp)

    def split(per_token: int) -> int:      # split by tensor parallelism
        return math.ceil(tokens * per_token / t)

    tensors = {
        "norm inputs": rep(2 * e * h),
        "qkv input": rep(e * h),
        "q, k": split(e * (q + kv)),
        "v": split(e * kv),
        "attention output": split(e * q),
        "attention dropout mask": rep(mask * h),
        "mlp input": rep(e * h),
    }
    if model.gated_ffn:
        tensors.update({"gate output": split(e * f), "up output": split(e * f),
                        "down input": split(e * f)})
    else:
        tensors.update({"fc1 output": split(e * f), "fc2 input": split(e * f)})
    tensors["mlp dropout mask"] = rep(mask * h)
    if attention == "eager":
        core = {"softmax output": tokens * heads * seq_len * e}
        if dropout:
            core["softmax dropout mask"] = tokens * heads * seq_len
            core["softmax dropout output"] = tokens * heads * seq_len * e
    else:   # FlashAttention keeps only the fp32 log-sum-exp of each query row and head
        core = {"softmax statistics": tokens * heads * 4}
    tensors.update(core)
    tensors = {k: v for k, v in tensors.items() if v}
    head = rep(2 * e * h) + split(4 * model.vocab)     # final norm + LM-head inputs, fp32 logits
    return LayerActivations(tensors=tensors, core=frozenset(core), layer_input=rep(e * h),
                            embedding=rep(mask * h), head=head)


def segments(layers: int, every: int) -> list[int]:
    """Segment sizes when the input of every ``every``-th layer is checkpointed."""
    n, rem = divmod(layers, every)
    return [every] * n + ([rem] if rem else [])


def checkpoint_peak(layers: int, every: int, layer_input: int, layer_full: int) -> int:
    """Peak bytes of one micro-batch's backward with segments of ``every`` layers.

    "Training Deep Nets with Sublinear Memory Cost" (Chen et al., 2016): the
    forward keeps each segment's input; the backward recomputes one segment at a
    time, so while segment j (0-based, processed last to first) is being
    recomputed, the inputs of segments 0..j and segment j's full activations are
    live.  With ``every = sqrt(layers)`` both terms are ``sqrt(layers)``, hence
    O(sqrt(n)) memory for one extra forward pass.  ``every = 1`` is full
    recomputation: ``layers * layer_input + layer_full``.
    """
    seg = segments(layers, every)
    return max((j + 1) * layer_input + size * layer_full for j, size in enumerate(seg))
