"""ZigZagKV: heavy-hitter eviction with per-layer budgets set by layer uncertainty."""
from __future__ import annotations

from memsim.ground.errors import check_fraction

from ..registry import register
from ._common import layer_uncertainty_budgets
from .h2o import H2O

__all__ = ["ZigZagKV"]


@register("compression")
class ZigZagKV(H2O):
    """H2O's scores, but the total budget ``layers * budget`` is split across layers in
    proportion to how many tokens each layer needs to cover ``mass`` of its prefill attention.

    Models: "ZigZagKV: Dynamic KV Cache Compression for Long-context Modeling based on Layer
    Uncertainty" (COLING 2025); the uniform split is every other policy here.
    Parameters:
        mass: attention mass a layer's minimum budget must cover (uncertainty proxy; 0.9).
        min_fraction: floor on a layer's budget as a share of the uniform budget.
        recent_fraction, budget_fraction: as ``h2o``.
    Differs from the paper: the need is measured on the score source's observation-window
    attention, averaged over heads; the within-layer eviction rule is H2O's.
    """

    name = "zigzag_kv"

    def __init__(self, *, mass: float = 0.9, min_fraction: float = 0.25, recent_fraction: float = 0.5,
                 budget_fraction: float | None = None):
        super().__init__(recent_fraction=recent_fraction, budget_fraction=budget_fraction)
        self.mass = check_fraction("mass", mass, open_low=True)
        self.min_fraction = check_fraction("min_fraction", min_fraction)

    def __repr__(self) -> str:
        return (f"ZigZagKV(mass={self.mass}, min_fraction={self.min_fraction}, "
                f"recent_fraction={self.recent_fraction}, budget_fraction={self.budget_fraction})")

    def _allocate(self, prefill, budget_tokens: int):
        return layer_uncertainty_budgets(prefill, budget_tokens, mass=self.mass,
                                         min_fraction=self.min_fraction)
