"""Read-ME-style lookahead: the router's choice for the next layer(s) is known one layer early."""
from __future__ import annotations

from ..registry import register
from ._common import check_shape

__all__ = ["Lookahead"]


@register("expert_prefetch")
class Lookahead:
    """Fetch the experts the next layers (depth) will use, known ahead from a pre-gating router.

    Models: "Read-ME: Refactorizing LLMs as Router-Decoupled Mixture of Experts with System Co-Design" (NeurIPS 2024), whose router decoupled from the backbone computes later layers' expert choices ahead, enabling lookahead prefetching and caching.
    Parameters:
        depth: layers of routing known ahead (1: the next layer, as the issue asks; Read-ME's pre-gating router can know every layer).
        budget: fetches started per layer boundary (default: the model's active experts per token).
    Differs from the paper: only the prefetch is modelled (no expert-aware batching);
    the routing ahead is the true routing (Read-ME's router is exact by design), and
    prefetches never reach past the current iteration's last layer (the next token's
    routing depends on a token not yet generated).
    """

    name = "lookahead"

    def __init__(self, *, layers: int, experts: int, budget: int, depth: int = 1):
        self.layers, self.experts, self.budget = check_shape(layers, experts, budget)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth={depth!r} must be an int >= 1")
        self.depth = depth
        self.lookahead_layers = depth

    def __repr__(self) -> str:
        return f"Lookahead(depth={self.depth}, budget={self.budget})"

    def plan(self, layer, current, upcoming, cached) -> list[tuple[int, int]]:
        # every known expert: the cached ones are kept, the others fetched, nearest layer first
        return [(layer + d, int(e)) for d in range(1, self.depth + 1) for e in upcoming.get(layer + d, ())]

    def check(self) -> None:
        assert self.depth == self.lookahead_layers >= 1 and self.budget >= 0
