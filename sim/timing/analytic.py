"""The analytic kernel model: launch latency plus a roofline with shape-dependent efficiency.

Every function takes NumPy arrays (or scalars) of shapes, a ``Device`` (the datasheet
numbers: peak FLOP/s, HBM bandwidth, SM count) and the fitted parameters ``p`` (a dict,
keys as in ``PARAMS``), and returns seconds.  The terms, in ``docs/calibration.md``:

* tile and wave quantisation: a GEMM runs ``ceil(m/Tm) * ceil(n/Tn)`` output tiles in
  ``ceil(tiles / SMs)`` waves; split-K fills an under-occupied GPU; the tile is the one of
  ``TILES`` that the model predicts fastest (a cuBLAS-like heuristic);
* per-tile efficiency ``e / (1 + c (1/Tm + 1/Tn))``: a small tile reloads its operands
  from L2 more often per FLOP;
* pipeline fill over k: ``k / (k + k0)``;
* memory time ``bytes / (BW * e_mem) + fill_s``: a stream's ramp is a fixed latency;
* compute and memory overlap imperfectly: ``(t_c^q + t_m^q)^(1/q)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.hwmodels.schema import CURVE_KNOTS

__all__ = ["Device", "PARAMS", "TILES", "CURVES", "curve", "gemm_s", "context_attention_s", "generation_attention_s",
           "generation_affine", "all_reduce_s", "elementwise_s", "attended_keys"]

TILES = ((32, 128), (128, 32), (64, 64), (64, 128), (128, 64), (128, 128), (128, 256), (256, 128), (64, 256), (256, 64))
"""Output tiles (Tm, Tn) the GEMM heuristic chooses among (the CUTLASS/cuBLAS sizes for bf16)."""

ATTN_BLOCK = 128
"""Query/key block of the FlashAttention kernels (rows per CTA, keys per inner step)."""

CURVES = CURVE_KNOTS
"""Efficiency curves: time multipliers at these knots (sizes), log-linear between, clamped."""


def curve(x, name: str, p: dict):
    """The time multiplier of curve ``name`` at sizes ``x`` (1 where the parameters lack it)."""
    vals = p.get(name)
    if vals is None:
        return 1.0
    knots = np.log(np.asarray(CURVES[name], dtype=float))
    return np.exp(np.interp(np.log(np.maximum(np.asarray(x, dtype=float), 1.0)), knots,
                            np.log(np.asarray(vals, dtype=float))))

PARAMS = {
    "launch_s": "seconds every kernel costs before its first byte moves",
    "gemm_compute_eff": "fraction of dense peak a large, well-tiled GEMM reaches",
    "gemm_tile_c": "elements: per-tile efficiency falls as c (1/Tm + 1/Tn) (operand reloads from L2)",
    "gemm_k0": "elements of k that fill the MMA pipeline (efficiency k / (k + k0))",
    "gemm_act_factor": "activation bytes count this much against HBM (below 1: partly L2-resident)",
    "gemm_max_split": "most CTAs split-K spreads one output tile's k range over",
    "gemm_kstep_s": "seconds one CTA needs at least per 64-wide k step (load latency floor)",
    "mem_eff": "fraction of peak HBM bandwidth a long stream reaches",
    "mem_fill_s": "seconds a stream needs to ramp up to bandwidth (latency x bytes in flight / BW)",
    "overlap_q": "compute/memory overlap exponent: time = (t_c^q + t_m^q)^(1/q)",
    "attn_compute_eff": "fraction of dense peak a long prefill attention reaches at head_dim d_ref",
    "attn_d0": "elements: attention efficiency d / (d + d0) relative to head_dim 128",
    "attn_launch_s": "fixed seconds of a prefill attention call",
    "attn_cta_s": "seconds of one prefill CTA's prologue and epilogue (load Q, normalise, store O)",
    "attn_overlap_q": "prefill attention's compute/memory overlap exponent (as overlap_q)",
    "attn_l2_ratio": "L2 bandwidth for re-read key blocks, in units of peak HBM bandwidth",
    "attn_fp8_factor": "key-block time with an fp8 KV cache relative to bf16 (dequantisation)",
    "attn_window_factor": "cost of a sliding-window key block relative to a causal one (both edges masked)",
    "attn_fp8_cta_factor": "prefill CTA prologue time with an fp8 KV cache relative to bf16 (scales, descale setup)",
    "decode_mem_eff": "fraction of peak HBM bandwidth decode attention reaches on the KV stream",
    "decode_fill_s": "fixed seconds of a decode attention call beyond the launch",
    "attn_seq_s": "seconds per sequence in a prefill attention call (per-sequence setup)",
    "decode_seq_s": "seconds per sequence in a decode attention call (page-table walk, split-KV merge)",
    "decode_cta_ratio": "a decode CTA's streaming bandwidth relative to an even share (BW / SMs)",
    "decode_fp8_factor": "decode KV-stream time per fp8 byte relative to a bf16 byte (dequantisation)",
    "decode_split_s": "seconds of the split-KV combine pass (a second kernel) when a context is split",
    "ar_latency_s": "seconds per ring step of an all-reduce (NCCL protocol latency)",
    "ar_bus_eff": "fraction of the GPU link's bandwidth an all-reduce's bus traffic reaches",
}


@dataclass(frozen=True)
class Device:
    """Datasheet numbers of one accelerator the analytic model needs (per accelerator)."""

    peak_flop_per_s: float      # dense, for the compute dtype
    hbm_bytes_per_s: float
    sm_count: int
    link_bytes_per_s: float = 0.0   # GPU-to-GPU, per direction


def _smooth_max(tc, tm, q):
    hi = np.maximum(tc, tm)
    lo = np.minimum(tc, tm)
    return hi * (1.0 + (lo / np.maximum(hi, 1e-30)) ** q) ** (1.0 / q)


def gemm_s(m, n, k, dev: Device, p: dict, *, dtype_bytes: int = 2):
    """Seconds of a bf16 GEMM (m x k) @ (k x n), elementwise over arrays of shapes."""
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    sms = float(dev.sm_count)
    per_sm = dev.peak_flop_per_s * p["gemm_compute_eff"] / sms
    kfill = k / (k + p["gemm_k0"])
    # weights stream from HBM; activations are partly served by L2 (act_bytes_factor < 1)
    moved = dtype_bytes * (k * n + p["gemm_act_factor"] * (m * k + m * n))
    mem = moved / (dev.hbm_bytes_per_s * p["mem_eff"])
    best = None
    for tm, tn in TILES:
        tiles = np.ceil(m / tm) * np.ceil(n / tn)
        # split-K: an under-occupied GPU splits k across CTAs (never below 256 per split)
        split = np.clip(np.floor(sms / tiles), 1.0, np.clip(np.floor(k / 256.0), 1.0, p["gemm_max_split"]))
        waves = np.ceil(tiles * split / sms)
        eff = kfill / (1.0 + p["gemm_tile_c"] * (1.0 / tm + 1.0 / tn))
        # a CTA walks its k range in 64-wide steps, each at least one load latency long
        tc = waves * np.maximum(2.0 * tm * tn * (k / split) / (per_sm * eff),
                                np.ceil(k / split / 64.0) * p["gemm_kstep_s"])
        t = _smooth_max(tc, mem, p["overlap_q"])
        best = t if best is None else np.minimum(best, t)
    # the fixed costs (launch, stream ramp) are shared with every kernel; curves scale the rest
    return p["launch_s"] + p["mem_fill_s"] + best * curve(m, "gemm_m_curve", p) \
        * curve(n, "gemm_n_curve", p) * curve(k, "gemm_k_curve", p)


def attended_keys(seq_len, window=0, context=0, block: int = ATTN_BLOCK):
    """Keys summed over a prefill's query blocks: each block of ``block`` query rows (the
    MMA tile, padded) attends to every key up to its last row (``window``: only the last
    ``window`` + block keys; ``context`` cached keys come first)."""
    s = np.asarray(seq_len, dtype=float)
    c = np.asarray(context, dtype=float)
    w = np.asarray(window, dtype=float)
    nq = np.ceil(s / block)
    full = block * nq * (nq - 1.0) / 2.0 + s + nq * c
    return np.where(w > 0, np.minimum(full, nq * np.minimum(w + block, s + c)), full)


def context_attention_s(batch, seq_len, heads, kv_heads, head_dim, dev: Device, p: dict, *,
                        window=0, kv_bytes: float = 2.0, context=0):
    """Seconds of one prefill attention call: ``batch`` chunks of ``seq_len`` new tokens, each
    after ``context`` cached ones, causal, for one layer.

    A CTA owns one (sequence, head, query block): a fixed prologue/epilogue ``attn_cta_s``
    plus one ``t_blk`` per key block it attends to.  The SMs share the CTAs' work, but the
    call lasts at least as long as its longest CTA (the last query block of a long prompt)."""
    b, s, h, hk, d = (np.asarray(x, dtype=float) for x in (batch, seq_len, heads, kv_heads, head_dim))
    c = np.asarray(context, dtype=float)
    kvb = np.asarray(kv_bytes, dtype=float)
    blk = float(ATTN_BLOCK)
    sms = float(dev.sm_count)
    nq = np.ceil(s / blk)
    eff = p["attn_compute_eff"] * (d / (d + p["attn_d0"])) * ((128.0 + p["attn_d0"]) / 128.0)
    t_blk = 4.0 * blk * blk * d / (dev.peak_flop_per_s / sms * eff)
    t_blk = t_blk * np.where(kvb < 2.0, p["attn_fp8_factor"], 1.0)      # fp8 KV is dequantised on the fly
    t_blk = t_blk * curve(s + c, "attn_len_curve", p) * curve(h / hk, "attn_group_curve", p) \
        * curve(h, "attn_heads_curve", p) * curve(d, "attn_dim_curve", p) * curve(b * s, "attn_tokens_curve", p)
    key_blocks = attended_keys(s, window, c) / blk                       # per (sequence, head)
    # a sliding window's key blocks are masked on both edges and cost more than causal ones
    # (measured: FA3 with a 128-key window is 1.7-4x, not 16x, faster than causal at 4k)
    full_blocks = attended_keys(s, 0, c) / blk
    key_blocks = np.minimum(full_blocks, key_blocks * np.where(np.asarray(window) > 0,
                                                              p.get("attn_window_factor", 1.0), 1.0))
    longest = np.minimum(s + c, np.where(np.asarray(window) > 0, np.asarray(window, dtype=float) + blk, s + c)) / blk
    # a CTA owns 128 query rows of one head, or (GQA packing) of all the heads sharing a KV head;
    # the kernel takes the layout with fewer CTAs (packing pays for short chunks, e.g. s = 1)
    ctas = np.minimum(b * h * nq, b * hk * np.ceil(s * (h / hk) / blk))
    cta_s = p["attn_cta_s"] * np.where(kvb < 2.0, p.get("attn_fp8_cta_factor", 1.0), 1.0)
    work = ctas * cta_s + b * h * key_blocks * t_blk                    # every CTA pays its prologue
    waves = np.ceil(ctas / sms)                                          # wave quantisation
    tc = np.maximum(waves * work / ctas, cta_s + np.ceil(longest) * t_blk)
    bytes_ = b * (s * h * d * 2.0 * 2.0 + (s + c) * hk * d * 2.0 * kvb)
    # every query block re-reads its key blocks, mostly from L2 (GQA heads share one read)
    reread = b * hk * key_blocks * blk * d * 2.0 * kvb
    tm = bytes_ / (dev.hbm_bytes_per_s * p["mem_eff"]) + reread / (dev.hbm_bytes_per_s * p["attn_l2_ratio"]) \
        + p["mem_fill_s"]
    return p["attn_launch_s"] + p["attn_seq_s"] * b + _smooth_max(tc, tm, p["attn_overlap_q"])


def generation_affine(heads, kv_heads, head_dim, dev: Device, p: dict, *, kv_bytes: float = 2.0):
    """(fixed seconds, seconds per sequence, seconds per KV token) of a large decode attention
    call, where the GPU's bandwidth is the limit: ``fixed + per_seq * batch + per_token * S``."""
    kvb = np.asarray(kv_bytes, dtype=float)
    per_token_bytes = 2.0 * np.asarray(kv_heads, dtype=float) * head_dim * kvb \
        * np.where(kvb < 2.0, p["decode_fp8_factor"], 1.0)
    per_token_flop = 4.0 * heads * head_dim
    per_token = per_token_bytes / (dev.hbm_bytes_per_s * p["decode_mem_eff"]) \
        + per_token_flop / (dev.peak_flop_per_s * p["attn_compute_eff"])
    per_seq = p["decode_seq_s"] + 4.0 * heads * head_dim / (dev.hbm_bytes_per_s * p["decode_mem_eff"])
    return p["launch_s"] + p["decode_fill_s"], per_seq, per_token


def generation_attention_s(batch, kv_len, heads, kv_heads, head_dim, dev: Device, p: dict, *,
                           kv_bytes: float = 2.0, window=0):
    """Seconds of one decode attention call: ``batch`` sequences, one query each over
    ``kv_len`` cached tokens, for one layer (``window`` > 0: only the last ``window`` keys).

    Split-KV: one CTA per (sequence, KV head) and split of the context; the kernel splits
    each context until the SMs are busy (at most one split per 256 tokens), deciding on the
    whole context even when a sliding window reads only its end.  A CTA streams at
    ``decode_cta_ratio`` times an even share of the bandwidth, so few long contexts are
    latency-bound rather than bandwidth-bound; a split context costs a combine pass."""
    b, x = np.asarray(batch, dtype=float), np.asarray(kv_len, dtype=float)
    w = np.asarray(window, dtype=float)
    fixed, per_seq, per_tok = generation_affine(heads, kv_heads, head_dim, dev, p, kv_bytes=kv_bytes)
    hk = np.asarray(kv_heads, dtype=float)
    d = np.asarray(head_dim, dtype=float)
    blk = float(ATTN_BLOCK)
    # keys read: whole 128-key blocks; a window starting mid-block touches one block more
    x_pad = np.ceil(x / blk) * blk
    read = np.where((w > 0) & (x > w), np.minimum(x_pad, (np.ceil(w / blk) + 1.0) * blk), x_pad)
    bulk = per_tok * b * read * curve(np.minimum(x, np.where(w > 0, w, x)), "decode_len_curve", p) \
        * curve(b, "decode_batch_curve", p) * curve(hk, "decode_heads_curve", p) \
        * curve(np.asarray(heads, dtype=float) / hk, "decode_group_curve", p) \
        * curve(b * read * 2.0 * hk * d * kv_bytes, "decode_bytes_curve", p) * curve(d, "decode_dim_curve", p)
    sms = float(dev.sm_count)
    units = b * hk
    splits = np.clip(np.floor(sms / units), 1.0, np.maximum(1.0, np.ceil(x / 256.0)))
    cta_bytes = np.minimum(x_pad / splits, read) * 2.0 * d * kv_bytes
    cta_s = cta_bytes / (dev.hbm_bytes_per_s / sms * p["decode_cta_ratio"])
    waves = np.ceil(units * splits / sms)
    combine = np.where(splits > 1.0, p.get("decode_split_s", 0.0), 0.0)
    return fixed + per_seq * b + np.maximum(bulk, waves * cta_s) + combine


def all_reduce_s(nbytes, gpus, dev: Device, p: dict):
    """Seconds of a ring all-reduce of ``nbytes`` over ``gpus`` GPUs of one node."""
    nbytes, g = np.asarray(nbytes, dtype=float), np.asarray(gpus, dtype=float)
    bus = 2.0 * (g - 1.0) / g * nbytes
    bw = max(dev.link_bytes_per_s, 1.0) * p["ar_bus_eff"]
    # the achieved bus bandwidth depends on the GPU count (topology) and message size (protocol)
    bus_s = bus / bw * curve(g, "ar_gpus_curve", p) * curve(nbytes, "ar_bytes_curve", p)
    return p["launch_s"] + 2.0 * (g - 1.0) * p["ar_latency_s"] * curve(g, "ar_lat_curve", p) + bus_s


def elementwise_s(nbytes, dev: Device, p: dict):
    """Seconds of a memory-bound elementwise kernel moving ``nbytes`` (read + written)."""
    return p["launch_s"] + np.asarray(nbytes, dtype=float) / (dev.hbm_bytes_per_s * p["mem_eff"]) \
        + p["mem_fill_s"]
