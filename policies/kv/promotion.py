"""Promotion policies: does a block loaded from a lower tier join HBM's prefix cache?

Protocol:
    cache_in_hbm: bool   -- True: the loaded copy becomes an HBM cache entry (copy up);
                            False: it serves this request only and is freed after (serve in place).
"""
from __future__ import annotations

from ..registry import register

__all__ = ["CopyUp", "InPlace"]


@register("promotion")
class CopyUp:
    """Loaded blocks are cached in HBM too (inclusive hierarchy; vLLM + LMCache behaviour)."""
    name = "copy_up"
    cache_in_hbm = True

    def __repr__(self):
        return "CopyUp()"


@register("promotion")
class InPlace:
    """Loaded blocks serve the request and are dropped from HBM afterwards; the lower tier keeps them."""
    name = "in_place"
    cache_in_hbm = False

    def __repr__(self):
        return "InPlace()"
