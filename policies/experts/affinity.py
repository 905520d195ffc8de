"""Inter-layer affinity: predict the next layer's experts from the current layer's, as learned so far."""
from __future__ import annotations

import numpy as np

from ..registry import register
from ._common import check_shape

__all__ = ["Affinity"]


@register("expert_prefetch")
class Affinity:
    """Keep in HBM the next-layer experts that most often followed the current layer's (up to budget).

    Models: the inter-layer expert affinity P(expert at layer l+1 | expert at layer l) of "Exploiting Inter-Layer Expert Affinity for Accelerating Mixture-of-Experts Model Inference" (IPDPS 2024), used here as an online predictor for prefetching.
    Parameters:
        budget: experts started per layer boundary (default: the model's active experts per token).
    Differs from the paper: ExFlow measures the affinity offline to place experts on
    GPUs; here it is counted online from this run's routing (layer-l set x layer-l+1
    set of each iteration) and only ranks prefetch candidates.
    """

    name = "affinity"
    lookahead_layers = 0

    def __init__(self, *, layers: int, experts: int, budget: int):
        self.layers, self.experts, self.budget = check_shape(layers, experts, budget)
        self.follows = np.zeros((layers, experts, experts))   # [l, e, e'] uses of e' at l+1 after e at l
        self._last: list = [None] * layers

    def __repr__(self) -> str:
        return f"Affinity(budget={self.budget})"

    def plan(self, layer, current, upcoming, cached) -> list[tuple[int, int]]:
        cur = np.asarray(current, dtype=np.int64)
        prev = self._last[layer - 1] if layer else None
        if prev is not None:
            self.follows[layer - 1][np.ix_(prev, cur)] += 1.0
        self._last[layer] = cur
        if layer + 1 >= self.layers:
            return []
        score = self.follows[layer][cur].sum(axis=0)
        order = np.argsort(-score, kind="stable")[:self.budget]
        return [(layer + 1, int(e)) for e in order.tolist() if score[e] > 0]

    def check(self) -> None:
        assert self.follows.shape == (self.layers, self.experts, self.experts)
        assert (self.follows >= 0).all()
