"""D2MoE-style hottest-first: fetch the next layer's historically hottest experts first."""
from __future__ import annotations

import numpy as np

from ..registry import register
from ._common import check_shape

__all__ = ["Hottest"]


@register("expert_prefetch")
class Hottest:
    """Keep the next layer's most used experts (counts so far, up to budget) in HBM, fetching those missing.

    Models: the hottest-expert-bit-first (HEBF) I/O ordering of "D^{2}MoE: Dual Routing and Dynamic Scheduling for Efficient On-Device MoE-based LLM Serving" (MobiCom 2025), which schedules expert loads by hotness to fill I/O-compute bubbles.
    Parameters:
        budget: experts started per layer boundary (default: the model's active experts per token).
        decay: each boundary multiplies the layer's counts by this factor before adding the new uses (1.0: plain counts; < 1 forgets old routing).
    Differs from the paper: no bit-nested (matryoshka) experts, so an expert moves
    whole; hotness is this run's own routing history, learned online; the prefetch
    targets the next layer in model order (the first layer after the last).
    """

    name = "hottest"
    lookahead_layers = 0

    def __init__(self, *, layers: int, experts: int, budget: int, decay: float = 1.0):
        self.layers, self.experts, self.budget = check_shape(layers, experts, budget)
        if not 0.0 < float(decay) <= 1.0:
            raise ValueError(f"decay={decay!r} must lie in (0, 1]")
        self.decay = float(decay)
        self.counts = np.zeros((layers, experts))

    def __repr__(self) -> str:
        return f"Hottest(budget={self.budget}, decay={self.decay})"

    def plan(self, layer, current, upcoming, cached) -> list[tuple[int, int]]:
        row = self.counts[layer]
        if self.decay != 1.0:
            row *= self.decay
        row[np.asarray(current, dtype=np.int64)] += 1.0
        nxt = (layer + 1) % self.layers
        order = np.argsort(-self.counts[nxt], kind="stable")[:self.budget]   # ties: lower id first
        return [(nxt, int(e)) for e in order.tolist() if self.counts[nxt, e] > 0]

    def check(self) -> None:
        assert self.counts.shape == (self.layers, self.experts) and (self.counts >= 0).all()
