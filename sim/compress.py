"""Token-level KV compression: replay one policy over an attention-score source.

Each decode step the policy plans which tokens the step attends (resident, quantized or
fetched), then sees that step's attention over them.  The simulation measures attention
mass recall, bytes resident in HBM, HBM bytes read and PCIe bytes fetched per step, and
for selective fetch the blocking re-fetch of true top-k tokens the prediction missed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.ground.errors import ConfigError, check_positive
from memsim.policies import create

__all__ = ["CompressResult", "simulate", "recall_curves", "budget_grid"]


@dataclass(frozen=True)
class CompressResult:
    """Per-step arrays (length ``steps``) and their means, for one policy and budget."""

    policy: str
    budget_tokens: int
    recall: np.ndarray                 # attention mass on the attended tokens, mean over layer-heads
    predicted_recall: np.ndarray       # fetch: mass on the prefetched tokens only (else = recall)
    high_precision_recall: np.ndarray  # MiKV: mass on full-precision tokens (else = recall)
    resident_bytes: np.ndarray         # KV bytes of this sequence resident in HBM
    hbm_read_bytes: np.ndarray         # HBM KV bytes the decode step reads
    fetch_bytes: np.ndarray            # PCIe bytes prefetched (overlapped)
    blocking_fetch_bytes: np.ndarray   # PCIe bytes fetched after a misprediction (blocking)
    prediction_accuracy: np.ndarray    # fetch: share of the true top-k prefetched (else 1)
    full_bytes: np.ndarray             # bytes a full cache would hold at each step

    def summary(self) -> dict:
        full = float(self.full_bytes.mean())
        return {
            "policy": self.policy, "budget_tokens": self.budget_tokens,
            "recall": float(self.recall.mean()), "recall_min": float(self.recall.min()),
            "predicted_recall": float(self.predicted_recall.mean()),
            "high_precision_recall": float(self.high_precision_recall.mean()),
            "resident_bytes": float(self.resident_bytes.mean()),
            "resident_fraction": float(self.resident_bytes.mean()) / full,
            "hbm_read_bytes_per_step": float(self.hbm_read_bytes.mean()),
            "fetch_bytes_per_step": float(self.fetch_bytes.mean()),
            "blocking_fetch_bytes_per_step": float(self.blocking_fetch_bytes.mean()),
            "pcie_bytes_per_step": float((self.fetch_bytes + self.blocking_fetch_bytes).mean()),
            "prediction_accuracy": float(self.prediction_accuracy.mean()),
        }


def simulate(policy, scores, *, budget_tokens: int, model, seed: int = 0) -> CompressResult:
    """Run ``policy`` (a compression policy instance or spec) over ``scores`` at a budget.

    ``budget_tokens`` is per layer-head (evict: resident tokens; fetch: top-k per step;
    MiKV: high-precision tokens).  Bytes are those of ``model`` (a ``ModelSpec``): each of the
    source's layer-heads stands for an equal share of the model's KV.  ``seed`` feeds the
    policies that draw noise (SpeCache's low-bit scoring error).
    """
    pol = create("compression", policy)
    check_positive("budget_tokens", budget_tokens)
    if getattr(pol, "mode", None) not in ("evict", "quantize", "fetch"):
        raise ConfigError(f"compression policy {pol!r} has no token-level mode")
    rng = np.random.default_rng(seed)
    L, H, T = scores.layers, scores.heads, scores.steps
    slots = L * H
    u = float(model.kv_bytes_per_token) / slots
    pol.start(prompt_tokens=scores.prompt_tokens, layers=L, heads=H, budget_tokens=int(budget_tokens),
              prefill=scores.prefill)
    out = {k: np.zeros(T) for k in ("recall", "predicted_recall", "high_precision_recall", "resident",
                                    "read", "fetch", "block", "acc", "full")}
    prev = None

    def mass(mask) -> float:
        return float((probs * mask).sum(-1).mean())

    for t in range(T):
        C = scores.context_tokens(t)
        probs = scores.row(t)
        if pol.mode == "fetch":
            pol.peek(t, probs, rng)
        planned = np.asarray(pol.plan(t, C), dtype=bool)
        if planned.shape != (L, H, C):
            raise ConfigError(f"{pol!r}.plan returned shape {planned.shape}, expected {(L, H, C)}")
        if pol.mode == "evict" and prev is not None:
            grown = np.concatenate([prev, np.ones((L, H, C - prev.shape[-1]), dtype=bool)], -1)
            assert not np.any(planned & ~grown), f"{pol!r} brought back an evicted token at step {t}"
        prev = planned
        if hasattr(pol, "check"):
            pol.check()
        resident, read, fetch = pol.step_bytes(model, planned, C)
        attended = planned
        block = 0.0
        acc = 1.0
        if pol.mode == "fetch":
            k = min(pol.k, C)
            top = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
            true = np.zeros_like(planned)
            np.put_along_axis(true, top, True, axis=-1)
            missed = true & ~planned
            block = float(missed.sum()) * u * pol.fetch_unit
            acc = 1.0 - float(missed.sum()) / (slots * k)
            attended = planned | missed
            read += block
        out["predicted_recall"][t] = mass(planned)
        out["recall"][t] = mass(attended)
        hp = getattr(pol, "high_precision", None)
        out["high_precision_recall"][t] = mass(hp) if hp is not None else out["recall"][t]
        out["resident"][t], out["read"][t], out["fetch"][t] = resident, read, fetch
        out["block"][t], out["acc"][t] = block, acc
        out["full"][t] = float(model.kv_bytes_per_token) * C
        seen = probs * attended
        z = seen.sum(-1, keepdims=True)
        pol.observe(t, np.where(z > 0, seen / np.maximum(z, 1e-30), 0.0))
    return CompressResult(policy=getattr(pol, "name", type(pol).__name__), budget_tokens=int(budget_tokens),
                          recall=out["recall"], predicted_recall=out["predicted_recall"],
                          high_precision_recall=out["high_precision_recall"],
                          resident_bytes=out["resident"], hbm_read_bytes=out["read"],
                          fetch_bytes=out["fetch"], blocking_fetch_bytes=out["block"],
                          prediction_accuracy=out["acc"], full_bytes=out["full"])


def budget_grid(scores, points: int = 8) -> list[int]:
    """Budgets (tokens per layer-head) from 2% to 50% of the mean context, log-spaced."""
    mean_ctx = scores.prompt_tokens + (scores.steps - 1) / 2.0
    grid = np.unique(np.round(np.geomspace(0.02, 0.5, points) * mean_ctx).astype(int))
    return [int(b) for b in grid if b >= 1]


def recall_curves(scores, *, policies, budgets, model, seed: int = 0):
    """One row per (policy, budget): ``simulate``'s summary plus ``budget_fraction``
    (budget / mean context).  Returns a pandas DataFrame."""
    import pandas as pd
    mean_ctx = scores.prompt_tokens + (scores.steps - 1) / 2.0
    rows = []
    for p in policies:
        for b in budgets:
            s = simulate(p, scores, budget_tokens=b, model=model, seed=seed).summary()
            s["policy"] = p if isinstance(p, str) else s["policy"]
            s["budget_fraction"] = b / mean_ctx
            rows.append(s)
    return pd.DataFrame(rows)
