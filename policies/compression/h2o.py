"""H2O: keep the heavy hitters (largest accumulated attention) plus a recent window."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_fraction

from ..registry import register
from ._common import Evicting

__all__ = ["H2O"]


@register("compression")
class H2O(Evicting):
    """Evict the resident token with the smallest attention accumulated over all steps so far,
    never one of the ``recent_fraction * budget`` most recent tokens.

    Models: "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language
    Models" (NeurIPS 2023), the reference heavy-hitter baseline in Comparative Characterization,
    LagKV and KVMerger.
    Parameters:
        recent_fraction: share of the budget reserved for recent tokens (paper: 0.5).
        budget_fraction: engine only, see ``Evicting``.
    Differs from the paper: the prompt's accumulated attention is the observation-window
    attention of the score source (scaled to one step per prompt query), not every prompt query.
    """

    name = "h2o"

    def __init__(self, *, recent_fraction: float = 0.5, budget_fraction: float | None = None):
        self.recent_fraction = check_fraction("recent_fraction", recent_fraction)
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return f"H2O(recent_fraction={self.recent_fraction}, budget_fraction={self.budget_fraction})"

    def _start(self) -> None:
        self.acc = self.prefill * self.P

    def _grown(self, old: int, new: int) -> None:
        self.acc = np.concatenate([self.acc, np.zeros((self.L, self.H, new - old))], axis=-1)

    def _recent(self, C: int) -> np.ndarray:
        protect = np.zeros((self.L, self.H, C), dtype=bool)
        for li in range(self.L):
            r = int(self.recent_fraction * self.budgets[li])
            if r:
                protect[li, :, C - r:] = True
        return protect

    def _scores(self, step: int, C: int):
        return self.acc[..., :C], self._recent(C)

    def _observe(self, step: int, probs: np.ndarray) -> None:
        self.acc[..., :probs.shape[-1]] += probs
