"""Overlap policies: how a request's KV load overlaps with its prefill.

Protocol:
    layerwise: bool -- True: layer i+1's KV loads while layer i computes, so the request
                       waits only for the part of the load its compute cannot hide.
"""
from __future__ import annotations

from ..registry import register

__all__ = ["Blocking", "Layerwise"]


@register("overlap")
class Blocking:
    """The request waits for its whole KV load before its prefill starts."""
    name = "blocking"
    layerwise = False

    def __repr__(self):
        return "Blocking()"


@register("overlap")
class Layerwise:
    """Layer-wise pipelining: the load of layer i+1 runs under the compute of layer i.

    Models: LMCache layer-wise KV transfer / "CacheBlend"-style pipelining.  With a load of
    l seconds and a prefill of c seconds over L layers, the request is held for
    l - min(l, c) * (1 - 1/L) instead of l.
    """
    name = "layerwise"
    layerwise = True

    def __repr__(self):
        return "Layerwise()"
