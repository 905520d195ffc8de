"""Load-vs-recompute policies: how much of a request's prefix found in lower tiers to load.

Protocol:
    choose(load_s, recompute_s) -> int
        load_s[j], recompute_s[j]: estimated seconds to load / to recompute the first j
        found blocks (index 0 is 0.0); returns how many blocks to load (a prefix).
"""
from __future__ import annotations

from ..registry import register

__all__ = ["CostBased", "AlwaysLoad", "AlwaysRecompute"]


@register("load")
class CostBased:
    """Load the prefix that saves the most time: argmax_j recompute_s[j] - load_s[j].

    Models: the load-or-recompute decision of "Cake: Computational and I/O Aware KV Cache
    Loading" / CachedAttention-style systems, with link time taken on the actual contended links.
    Parameters: margin (fraction; load only if it is this much faster, default 0).
    """
    name = "cost"

    def __init__(self, *, margin: float = 0.0):
        if not 0 <= margin < 1:
            raise ValueError(f"margin={margin!r} must be in [0, 1)")
        self.margin = margin

    def choose(self, load_s, recompute_s) -> int:
        import numpy as np
        gain = np.asarray(recompute_s, dtype=float) * (1 - self.margin) - np.asarray(load_s, dtype=float)
        j = int(np.argmax(gain))  # first maximum: the shortest prefix with the best saving
        return j if gain[j] > 0 else 0

    def __repr__(self):
        return f"CostBased(margin={self.margin})"


@register("load")
class AlwaysLoad:
    """Load every found block, whatever it costs."""
    name = "always_load"

    def choose(self, load_s, recompute_s) -> int:
        return len(load_s) - 1

    def __repr__(self):
        return "AlwaysLoad()"


@register("load")
class AlwaysRecompute:
    """Never load from lower tiers: recompute (lower tiers only receive writes)."""
    name = "always_recompute"

    def choose(self, load_s, recompute_s) -> int:
        return 0

    def __repr__(self):
        return "AlwaysRecompute()"
