"""Write policies: when a KV block gets a copy in the next tier down.

Protocol (the engine calls these; policies keep no engine state):
    through: bool              -- copy a block to the next tier as soon as it enters a tier
    demote(hits) -> bool       -- on eviction from a tier, copy the block to the next tier?
                                  ``hits`` is how often the block was reused in that tier.
"""
from __future__ import annotations

from ..registry import register

__all__ = ["WriteThrough", "WriteBack", "Selective", "Drop"]


@register("write")
class WriteThrough:
    """Copy every block to the next tier when it is created (LMCache's default store path).

    Models: LMCache ("LMCache: An Efficient KV Cache Layer for Enterprise-Scale LLM Inference", 2025),
    which stores KV to CPU memory as it is produced.
    Parameters: none.
    Differs from the paper: copies go one tier at a time, each a transfer on the real link.
    """
    name = "write_through"
    through = True
    can_demote = False

    def demote(self, hits: int) -> bool:
        return False

    def __repr__(self):
        return "WriteThrough()"


@register("write")
class WriteBack:
    """Copy a block to the next tier only when it is evicted (demotion, as in SGLang HiCache's write-back).

    Models: SGLang HiCache hierarchical caching (write_back policy).
    Parameters: none.
    """
    name = "write_back"
    through = False
    can_demote = True

    def demote(self, hits: int) -> bool:
        return True

    def __repr__(self):
        return "WriteBack()"


@register("write")
class Selective:
    """Demote an evicted block only if it was reused at least ``min_hits`` times.

    Models: HiCache's selective write ("write_through_selective"): only hot prefixes earn a copy.
    Parameters: min_hits (reuses, default 1).
    """
    name = "selective"
    through = False
    can_demote = True

    def __init__(self, *, min_hits: int = 1):
        if not isinstance(min_hits, int) or min_hits < 0:
            raise ValueError(f"min_hits={min_hits!r} must be an integer >= 0")
        self.min_hits = min_hits

    def demote(self, hits: int) -> bool:
        return hits >= self.min_hits

    def __repr__(self):
        return f"Selective(min_hits={self.min_hits})"


@register("write")
class Drop:
    """Never copy blocks down: an evicted block is gone (an HBM-only cache)."""
    name = "drop"
    through = False
    can_demote = False

    def demote(self, hits: int) -> bool:
        return False

    def __repr__(self):
        return "Drop()"
