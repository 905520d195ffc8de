"""Per-step, per-head attention distributions for token-level KV compression studies.

``synthetic_scores`` draws distributions with the structure eviction papers exploit
(attention sinks, a recency window, persistent heavy hitters, tokens that recur after
long gaps); ``load_scores`` reads a real dump from a NumPy ``.npz`` file.  Both
return an ``AttentionScores``; ``memsim.sim.compress`` replays a policy over it.

Layout.  A sequence has ``prompt_tokens`` P prompt tokens and then ``steps`` decode
steps.  At decode step t the KV cache holds the ``P + t`` tokens at positions
``0 .. P+t-1`` and the step's query (the token at position ``P+t``, whose own KV is
always present and is not scored) attends over them.  ``probs[t, l, h, :P+t]`` sums
to 1 and ``probs[t, l, h, P+t:]`` is 0.

``.npz`` format (``load_scores``):
    ``scores``   float array ``(steps, layers, heads, tokens)`` (or ``(steps, heads, tokens)``
                 for one layer) with ``tokens >= prompt_tokens + steps - 1``; row t is the
                 attention of decode step t over positions ``0 .. prompt_tokens+t-1`` and must
                 be zero beyond them; rows are renormalised if their sums are within 1e-3 of 1.
    ``prompt_tokens``  scalar int.
    ``prefill``  optional float array ``(layers, heads, prompt_tokens)``: attention of the
                 prompt's last (observation-window) queries over the prompt, each row summing
                 to 1; when absent, decode step 0's row is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memsim.ground.errors import ConfigError, TraceError, check_positive

__all__ = ["AttentionScores", "synthetic_scores", "load_scores", "save_scores"]


@dataclass(frozen=True)
class AttentionScores:
    """Attention probabilities of one sequence: ``probs`` is ``(steps, layers, heads, tokens)``."""

    probs: np.ndarray
    prompt_tokens: int
    prefill: np.ndarray
    description: str = ""

    @property
    def steps(self) -> int:
        return int(self.probs.shape[0])

    @property
    def layers(self) -> int:
        return int(self.probs.shape[1])

    @property
    def heads(self) -> int:
        return int(self.probs.shape[2])

    def context_tokens(self, step: int) -> int:
        """KV tokens attended at decode ``step`` (positions ``0 .. P+step-1``)."""
        return self.prompt_tokens + step

    def row(self, step: int) -> np.ndarray:
        """``(layers, heads, P+step)`` attention of decode ``step``."""
        return self.probs[step, :, :, :self.prompt_tokens + step]


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def synthetic_scores(*, prompt_tokens: int = 1024, steps: int = 256, layers: int = 4, heads: int = 8,
                     sink_tokens: int = 4, sink_logit: float = 5.0,
                     recency_tokens: int = 32, recency_logit: float = 4.0,
                     heavy_fraction: float = 0.02, heavy_logit: float = 3.0,
                     recurring_tokens: int = 16, recurring_logit: float = 6.0,
                     recurring_period_steps: int = 48, recurring_burst_steps: int = 6,
                     content_std: float = 2.0, noise_std: float = 0.5,
                     layer_correlation: float = 0.8, layer_spread: float = 0.5,
                     observation_tokens: int = 32,
                     rng: np.random.Generator) -> AttentionScores:
    """Draw a synthetic attention source; every logit term is additive before the softmax.

    Parameters:
        prompt_tokens, steps: prompt length P and number of decode steps.
        layers, heads: attention layers and (KV) heads simulated; each layer-head stands
            for an equal share of a real model's KV.
        sink_tokens, sink_logit: the first tokens get ``+sink_logit`` ("attention sinks").
        recency_tokens, recency_logit: ``+recency_logit * exp(-distance / recency_tokens)``.
        heavy_fraction, heavy_logit: that fraction of tokens (drawn per head, shared across
            layers with probability ``layer_correlation``) get ``+heavy_logit`` at every step.
        recurring_tokens, recurring_logit, recurring_period_steps, recurring_burst_steps:
            that many prompt tokens outside the recency window are quiet (no boost) except in
            bursts of ``recurring_burst_steps`` steps every ``recurring_period_steps`` steps
            (random phase per token and head), when they get ``+recurring_logit``: long-range
            tokens that recur after gaps, which a recency window loses.
        content_std: per-token static logit noise (what the token says); ``noise_std``:
            fresh logit noise per step.
        layer_correlation: how much of the static logit is shared across layers (so the
            previous layer predicts the next, as InfiniGen relies on).
        layer_spread: layer l's logits are scaled by ``1 + layer_spread * u_l`` with
            ``u_l`` spaced in [-1, 1]: some layers attend sharply, others diffusely
            (what per-layer budget allocation exploits).
        observation_tokens: the prompt's last queries whose mean attention is ``prefill``.
        rng: the only source of randomness.
    """
    for nm, v in (("prompt_tokens", prompt_tokens), ("steps", steps), ("layers", layers),
                  ("heads", heads), ("recency_tokens", recency_tokens),
                  ("recurring_period_steps", recurring_period_steps),
                  ("observation_tokens", observation_tokens)):
        check_positive(nm, v)
    if not 0.0 <= layer_correlation <= 1.0:
        raise ConfigError(f"layer_correlation={layer_correlation} must be in [0, 1]")
    if not 0.0 <= heavy_fraction < 1.0:
        raise ConfigError(f"heavy_fraction={heavy_fraction} must be in [0, 1)")
    n = prompt_tokens + steps
    L, H = layers, heads
    shared = rng.standard_normal((1, H, n))
    own = rng.standard_normal((L, H, n))
    static = content_std * (layer_correlation * shared + np.sqrt(1 - layer_correlation ** 2) * own)
    static[:, :, :min(sink_tokens, n)] += sink_logit
    heavy_shared = rng.random((1, H, n)) < heavy_fraction
    heavy_own = rng.random((L, H, n)) < heavy_fraction
    use_shared = rng.random((L, H, 1)) < layer_correlation
    heavy = np.where(use_shared, heavy_shared, heavy_own)
    heavy[:, :, :sink_tokens] = False
    static += heavy_logit * heavy
    # Recurring tokens: drawn from the prompt, older than 4 recency windows at step 0.
    far_end = max(sink_tokens + 1, prompt_tokens - 4 * recency_tokens)
    rec_pos = np.zeros((L, H, 0), dtype=np.int64)
    if recurring_tokens > 0 and far_end > sink_tokens:
        k = min(recurring_tokens, far_end - sink_tokens)
        shared_pos = np.stack([rng.choice(np.arange(sink_tokens, far_end), k, replace=False)
                               for _ in range(H)])[None]
        rec_pos = np.broadcast_to(shared_pos, (L, H, k)).copy()
    phase = rng.integers(0, recurring_period_steps, size=rec_pos.shape)
    scale = (1.0 + layer_spread * np.linspace(-1.0, 1.0, L)).reshape(L, 1, 1) if L > 1 \
        else np.ones((1, 1, 1))
    scale = np.clip(scale, 0.05, None)
    probs = np.zeros((steps, L, H, n), dtype=np.float32)
    li, hi = np.meshgrid(np.arange(L), np.arange(H), indexing="ij")
    for t in range(steps):
        c = prompt_tokens + t
        dist = (c - np.arange(c)).astype(float)            # the query sits at position c
        logits = static[:, :, :c] + recency_logit * np.exp(-(dist - 1) / recency_tokens)
        logits = logits + noise_std * rng.standard_normal((L, H, c))
        if rec_pos.shape[-1]:
            active = ((t + phase) % recurring_period_steps) < recurring_burst_steps
            boost = np.where(active, recurring_logit, 0.0)
            np.add.at(logits, (li[..., None].repeat(rec_pos.shape[-1], -1),
                               hi[..., None].repeat(rec_pos.shape[-1], -1), rec_pos), boost)
        probs[t, :, :, :c] = _softmax(logits * scale)
    # Prefill observation window: the last queries of the prompt over the prompt.
    P = prompt_tokens
    acc = np.zeros((L, H, P))
    w = min(observation_tokens, P)
    for q in range(P - w + 1, P + 1):
        dist = (q - np.arange(q)).astype(float)
        logits = static[:, :, :q] + recency_logit * np.exp(-(dist - 1) / recency_tokens)
        logits = logits + noise_std * rng.standard_normal((L, H, q))
        acc[:, :, :q] += _softmax(logits * scale)
    prefill = (acc / acc.sum(axis=-1, keepdims=True)).astype(np.float32)
    desc = (f"synthetic P={P} steps={steps} layers={L} heads={H} recurring={recurring_tokens} "
            f"heavy_fraction={heavy_fraction}")
    return AttentionScores(probs=probs, prompt_tokens=P, prefill=prefill, description=desc)


def save_scores(scores: AttentionScores, path) -> None:
    """Write ``scores`` in the ``.npz`` format ``load_scores`` reads."""
    np.savez_compressed(path, scores=scores.probs, prompt_tokens=np.int64(scores.prompt_tokens),
                        prefill=scores.prefill)


def load_scores(path) -> AttentionScores:
    """Read an attention dump (format in the module docstring); bad files raise TraceError."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise TraceError("no such file", file=str(path)) from None
    except (OSError, ValueError) as e:
        raise TraceError(f"not a NumPy .npz file ({e})", file=str(path)) from None
    with data:
        for key in ("scores", "prompt_tokens"):
            if key not in data.files:
                raise TraceError(f"missing array {key!r} (has: {', '.join(data.files) or 'none'})",
                                 file=str(path))
        probs = np.asarray(data["scores"], dtype=np.float32)
        P = data["prompt_tokens"]
        prefill = np.asarray(data["prefill"], dtype=np.float32) if "prefill" in data.files else None
    if P.shape != () or not np.issubdtype(P.dtype, np.integer) or int(P) < 1:
        raise TraceError(f"prompt_tokens must be a positive integer scalar, got {P!r}", file=str(path))
    P = int(P)
    if probs.ndim == 3:
        probs = probs[:, None]
    if probs.ndim != 4:
        raise TraceError(f"scores has shape {probs.shape}; expected (steps, layers, heads, tokens)",
                         file=str(path))
    steps, L, H, n = probs.shape
    if steps < 1 or n < P + steps - 1:
        raise TraceError(f"scores has {n} token columns; {steps} steps after a {P}-token prompt need "
                         f">= {P + steps - 1}", file=str(path))
    if not np.all(np.isfinite(probs)) or probs.min() < 0:
        raise TraceError("scores has negative or non-finite entries", file=str(path))
    out = np.zeros((steps, L, H, P + steps), dtype=np.float32)
    for t in range(steps):
        c = P + t
        beyond = float(probs[t, :, :, c:].sum())
        if beyond > 1e-6:
            raise TraceError(f"step {t}: {beyond:.3g} attention mass beyond the {c}-token context",
                             file=str(path))
        sums = probs[t, :, :, :c].sum(axis=-1, keepdims=True)
        if np.any(np.abs(sums - 1) > 1e-3):
            raise TraceError(f"step {t}: rows sum to {float(sums.min()):.4f}..{float(sums.max()):.4f}, "
                             f"not 1", file=str(path))
        out[t, :, :, :c] = probs[t, :, :, :c] / sums
    if prefill is None:
        prefill = out[0, :, :, :P].copy()
    elif prefill.shape != (L, H, P):
        raise TraceError(f"prefill has shape {prefill.shape}; expected {(L, H, P)}", file=str(path))
    elif not np.all(np.isfinite(prefill)) or prefill.min() < 0 or np.any(prefill.sum(-1) <= 0):
        raise TraceError("prefill has negative, non-finite or all-zero rows", file=str(path))
    else:
        prefill = prefill / prefill.sum(axis=-1, keepdims=True)
    return AttentionScores(probs=out, prompt_tokens=P, prefill=prefill, description=str(path))
