"""The compute of one layer and one micro-batch, as kernel calls: forward, backward, recompute.

Each GEMM of the forward, (m x k) @ (k x n), has two backward GEMMs of the same
FLOPs (the input gradient (m x n) @ (n x k) and the weight gradient
(k x m) @ (m x n)), so the backward is 2x the forward's GEMM FLOPs, timed at
their own shapes; attention's backward is ``ATTENTION_BACKWARD_FACTOR`` x its
forward; elementwise kernels stream twice their forward bytes.  Tensor
parallelism splits every GEMM's ``n`` (column-parallel) or ``k`` (row-parallel)
and adds two all-reduces of the layer's output per pass (Megatron-LM); with
sequence parallelism they become a reduce-scatter plus an all-gather, the same
bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .kernels import ATTENTION_BACKWARD_FACTOR, KernelTimes
from .scenario import BYTES

__all__ = ["LayerWork", "layer_work", "head_work", "model_flops_per_token"]


@dataclass(frozen=True)
class LayerWork:
    """Seconds of compute (one accelerator, one micro-batch) and bytes of its TP collectives."""

    forward_s: float
    backward_s: float
    recompute_s: float
    tp_bytes: float          # bytes all-reduced per pass (forward, backward; recompute repeats it)
    attention_s: float       # of forward_s, the attention core (selective recompute redoes it)


def _gemms(model, tokens: int, tp: int) -> list[tuple[int, int, int]]:
    h, q, kv = model.hidden, model.heads * model.head_dim, model.kv_heads * model.head_dim
    act = model.moe.active_experts if model.moe else 1
    ffn_in = (2 if model.gated_ffn else 1) * model.ffn
    g = [(tokens, (q + 2 * kv) // tp, h), (tokens, h, q // tp),
         (tokens * act, ffn_in // tp, h), (tokens * act, h, model.ffn // tp)]
    if model.moe:
        g.append((tokens, model.moe.experts, h))        # router, replicated
    return g


def _elementwise_bytes(model, tokens: int, tp: int, e: int) -> float:
    """Bytes the memory-bound kernels of one layer's forward stream: two norms and two
    residual adds over the hidden state, rotary embedding of q and k, the FFN activation."""
    h, q, kv = model.hidden, model.heads * model.head_dim, model.kv_heads * model.head_dim
    act = model.moe.active_experts if model.moe else 1
    f = model.ffn * act // tp
    per_token = 2 * 2 * h + 2 * 3 * h + 2 * (q + kv) // tp + (3 if model.gated_ffn else 2) * f
    return float(e * tokens * per_token)


def layer_work(model, kernels: KernelTimes, *, micro_batch: int, seq_len: int, tp: int,
               precision, checkpointing: str) -> LayerWork:
    """Kernel time of one transformer layer for one micro-batch on one accelerator."""
    tokens = micro_batch * seq_len
    e = BYTES[precision.activations]
    gemm_f = sum(kernels.gemm(m, n, k) for m, n, k in _gemms(model, tokens, tp))
    gemm_b = sum(kernels.gemm(m, k, n) + kernels.gemm(k, n, m) for m, n, k in _gemms(model, tokens, tp))
    attn = kernels.context_attention(micro_batch, seq_len, model.heads // tp, model.kv_heads // tp,
                                     model.head_dim)
    elem = kernels.elementwise(_elementwise_bytes(model, tokens, tp, e))
    fwd = gemm_f + attn + elem
    bwd = gemm_b + ATTENTION_BACKWARD_FACTOR * attn + 2 * elem
    if checkpointing in ("full", "every", "sqrt"):
        rec = fwd
    elif checkpointing == "selective":
        rec = attn
    else:
        rec = 0.0
    tp_bytes = 2.0 * tokens * model.hidden * e if tp > 1 else 0.0
    return LayerWork(forward_s=fwd, backward_s=bwd, recompute_s=rec, tp_bytes=tp_bytes,
                     attention_s=attn)


def head_work(model, kernels: KernelTimes, *, micro_batch: int, seq_len: int, tp: int,
              precision) -> tuple[float, float]:
    """(forward, backward) seconds of the final norm, LM head and fp32 cross-entropy."""
    tokens = micro_batch * seq_len
    e = BYTES[precision.activations]
    v = model.vocab // tp if model.vocab % tp == 0 else -(-model.vocab // tp)
    fwd = kernels.gemm(tokens, v, model.hidden) + kernels.elementwise(tokens * (2 * e * model.hidden + 3 * 4 * v))
    bwd = kernels.gemm(tokens, model.hidden, v) + kernels.gemm(model.hidden, v, tokens) \
        + kernels.elementwise(tokens * (2 * e * model.hidden + 2 * 4 * v))
    return fwd, bwd


def model_flops_per_token(model, seq_len: int) -> float:
    """Training FLOPs of one token (3x the forward: no recompute), causal attention averaged
    over the sequence: the numerator of MFU."""
    attn_pairs = (seq_len + 1) / 2.0
    fwd = model.linear_flops_per_token + model.attn_flops_per_token_ctx * attn_pairs
    return 3.0 * fwd
