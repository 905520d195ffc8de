"""Scissorhands: keep tokens that were important often in a recent history window."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import Evicting

__all__ = ["Scissorhands"]


@register("compression")
class Scissorhands(Evicting):
    """Rank tokens by how many of the last ``history_steps`` steps gave them above-average
    attention (importance persists); evict the lowest counts, never the ``recent_tokens`` newest.

    Models: "Scissorhands: Exploiting the Persistence of Importance Hypothesis for LLM KV Cache
    Compression at Test Time" (NeurIPS 2023).
    Parameters:
        history_steps: steps of attention history counted (paper: a history window).
        recent_tokens: newest tokens never evicted (paper: a recent window).
        budget_fraction: engine only, see ``Evicting``.
    Differs from the paper: eviction keeps the cache at the budget every step instead of
    dropping a batch of tokens when a buffer fills; the prompt's history is its
    observation-window attention counted as one step.
    """

    name = "scissorhands"

    def __init__(self, *, history_steps: int = 16, recent_tokens: int = 16,
                 budget_fraction: float | None = None):
        self.history_steps = int(check_positive("history_steps", history_steps))
        self.recent_tokens = int(check_positive("recent_tokens", recent_tokens, allow_zero=True))
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return (f"Scissorhands(history_steps={self.history_steps}, recent_tokens={self.recent_tokens}, "
                f"budget_fraction={self.budget_fraction})")

    def _start(self) -> None:
        first = self.prefill > (1.0 / self.P)
        self.hist = [first]

    def _scores(self, step: int, C: int):
        count = np.zeros((self.L, self.H, C))
        for h in self.hist:
            count[..., :h.shape[-1]] += h
        protect = np.zeros((self.L, self.H, C), dtype=bool)
        if self.recent_tokens:
            protect[..., -self.recent_tokens:] = True
        return count, protect

    def _observe(self, step: int, probs: np.ndarray) -> None:
        n = np.maximum(self.resident[..., :probs.shape[-1]].sum(-1, keepdims=True), 1)
        self.hist.append(probs > 1.0 / n)
        if len(self.hist) > self.history_steps:
            self.hist.pop(0)
