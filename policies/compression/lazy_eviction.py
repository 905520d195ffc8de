"""LazyEviction: lagged eviction that protects tokens which recur after long gaps."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import Evicting

__all__ = ["LazyEviction"]


@register("compression")
class LazyEviction(Evicting):
    """Every ``lag_steps`` steps, evict down to ``budget - lag_steps`` (so the cache never
    exceeds the budget in between), ranking each token by ``max_recurrence_interval -
    steps_since_last_important``: a token whose longest observed gap between important steps
    has not yet elapsed is expected to recur and is kept; the ``lag_steps`` newest tokens
    (at most half the cache) are not judged yet.

    Models: "LazyEviction: Lagged KV Eviction with Attention Pattern Observation for Efficient
    Long Reasoning" (2025).
    Parameters:
        lag_steps: steps between evictions and the observation window of new tokens.
        importance_ratio: a step marks a token important when its attention exceeds
            ``importance_ratio / resident_tokens``.
        budget_fraction: engine only, see ``Evicting``.
    Differs from the paper: recurrence is tracked per layer-head on the score source; ties
    are broken by accumulated attention.
    """

    name = "lazy_eviction"

    def __init__(self, *, lag_steps: int = 8, importance_ratio: float = 1.0,
                 budget_fraction: float | None = None):
        self.lag_steps = int(check_positive("lag_steps", lag_steps))
        self.importance_ratio = float(check_positive("importance_ratio", importance_ratio))
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return (f"LazyEviction(lag_steps={self.lag_steps}, importance_ratio={self.importance_ratio}, "
                f"budget_fraction={self.budget_fraction})")

    def _start(self) -> None:
        imp = self.prefill > self.importance_ratio / self.P
        self.last = np.where(imp, 0.0, -np.inf)              # step of the last important event
        self.mri = np.zeros_like(self.prefill)               # max recurrence interval (steps)
        self.acc = self.prefill.copy()
        self.born = np.zeros_like(self.prefill)

    def _grown(self, old: int, new: int) -> None:
        pad = np.zeros((self.L, self.H, new - old))
        self.last = np.concatenate([self.last, pad - np.inf], axis=-1)
        self.mri = np.concatenate([self.mri, pad], axis=-1)
        self.acc = np.concatenate([self.acc, pad], axis=-1)
        self.born = np.concatenate([self.born, pad + self._step], axis=-1)

    _step = 0

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        self._step = step
        self._grow(context_tokens)
        if step % self.lag_steps == 0:
            target = np.maximum(self.budgets - self.lag_steps, 1)
            if np.any(self.resident.sum(-1) > target[:, None]):
                score, protect = self._scores(step, context_tokens, target)
                self._keep_top(score, protect, target)
        return self.resident.copy()

    def _scores(self, step: int, C: int, target):
        since = step - np.where(np.isfinite(self.last), self.last, self.born - 1e6)
        score = self.mri - since + 1e-3 * self.acc
        protect = np.zeros((self.L, self.H, C), dtype=bool)
        for li in range(self.L):                       # unjudged newest tokens: at most half the cache
            n = min(self.lag_steps, int(target[li]) // 2)
            if n:
                protect[li, :, C - n:] = True
        return score[..., :C], protect

    def _observe(self, step: int, probs: np.ndarray) -> None:
        c = probs.shape[-1]
        n = np.maximum(self.resident[..., :c].sum(-1, keepdims=True), 1)
        imp = probs > self.importance_ratio / n
        gap = np.where(np.isfinite(self.last[..., :c]), step - self.last[..., :c], 0.0)
        self.mri[..., :c] = np.where(imp, np.maximum(self.mri[..., :c], gap), self.mri[..., :c])
        self.last[..., :c] = np.where(imp, step, self.last[..., :c])
        self.acc[..., :c] += probs
