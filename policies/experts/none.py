"""No expert prefetch: every miss is fetched when its layer's router asks for it."""
from __future__ import annotations

from ..registry import register
from ._common import check_shape

__all__ = ["NoExpertPrefetch"]


@register("expert_prefetch")
class NoExpertPrefetch:
    """Fetch nothing ahead: experts move only on a demand miss.

    Models: on-demand expert offloading, the baseline of "Fast Inference of Mixture-of-Experts Language Models with Offloading" (Eliseev, Mazur; arXiv 2023).
    Parameters: none (``budget`` is accepted and unused).
    Differs from the paper: nothing to differ in; the cache beside it is any eviction policy.
    """

    name = "none"
    lookahead_layers = 0

    def __init__(self, *, layers: int = 1, experts: int = 1, budget: int = 0):
        check_shape(layers, experts, budget)
        self.budget = 0

    def __repr__(self) -> str:
        return "NoExpertPrefetch()"

    def plan(self, layer, current, upcoming, cached) -> list[tuple[int, int]]:
        return []

    def check(self) -> None:
        assert self.budget == 0
