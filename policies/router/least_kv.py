"""Least KV: the replica with the smallest fraction of its KV blocks in use."""
from __future__ import annotations

from ..registry import register
from ._common import argmin_rotating, kv_use_fraction

__all__ = ["LeastKV"]


@register("router")
class LeastKV:
    """Send each request to the replica whose HBM KV blocks are least in use (as a fraction).

    Models: the KV-cache-utilization scorer of the Kubernetes Gateway API Inference Extension, used by llm-d's inference scheduler (score = 1 - KV-cache usage), alone.
    Parameters: none.
    Differs from the paper: no paper; the fraction (not the count) makes pools of
    different sizes comparable; ties go to fewer outstanding requests, then to the
    next replica after the previous choice.
    """

    name = "least_kv"

    def __init__(self):
        self._next = 0

    def __repr__(self) -> str:
        return "LeastKV()"

    def route(self, request, replicas, now_s: float) -> int:
        i = argmin_rotating([(kv_use_fraction(r), r.outstanding) for r in replicas], self._next)
        self._next = i + 1
        return i
