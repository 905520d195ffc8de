"""Prefetch policies: move a queued request's prefix up from slow tiers before it is scheduled.

Protocol:
    on_arrival: bool     -- start promoting the prefix's blocks into the fastest lower tier on arrival
    wait_s: float        -- how long admission may wait for those prefetches (0: never wait)
"""
from __future__ import annotations

import math

from memsim.ground.units import parse_time

from ..registry import register

__all__ = ["NoPrefetch", "OnArrival", "BestEffort"]


@register("prefetch")
class NoPrefetch:
    """No prefetch: blocks are loaded from wherever they are when the request is scheduled."""
    name = "none"
    on_arrival = False
    wait_s = 0.0

    def __repr__(self):
        return "NoPrefetch()"


@register("prefetch")
class OnArrival:
    """Prefetch on arrival and hold the request until its prefetch completes (HiCache 'wait_complete').

    Models: SGLang HiCache prefetch from L3 storage to L2 host memory while a request is queued.
    """
    name = "on_arrival"
    on_arrival = True
    wait_s = math.inf

    def __repr__(self):
        return "OnArrival()"


@register("prefetch")
class BestEffort:
    """Prefetch on arrival; admission waits at most ``timeout`` for it (HiCache 'timeout' mode).

    Parameters: timeout (seconds after arrival, default 0: never wait, use what has arrived).
    """
    name = "best_effort"
    on_arrival = True

    def __init__(self, *, timeout: float | str = 0.0):
        t = parse_time(timeout, field="timeout") if isinstance(timeout, str) else float(timeout)
        if not t >= 0:
            raise ValueError(f"timeout={timeout!r} must be >= 0")
        self.wait_s = t

    def __repr__(self):
        return f"BestEffort(timeout={self.wait_s!r})"
