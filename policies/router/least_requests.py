"""Least requests: the replica with the fewest outstanding requests."""
from __future__ import annotations

from ..registry import register
from ._common import argmin_rotating

__all__ = ["LeastRequests"]


@register("router")
class LeastRequests:
    """Send each request to the replica with the fewest outstanding (queued + running) requests.

    Models: join-the-shortest-queue, "Optimality of the shortest line discipline" (Winston, Journal of Applied Probability 1977); the load-balancing fallback of SGLang's cache-aware router.
    Parameters: none.
    Differs from the paper: the queue is the replica's outstanding requests, not its
    waiting line alone (a continuous-batching server serves many at once); ties go
    to the next replica after the previous choice, so equal replicas take turns.
    """

    name = "least_requests"

    def __init__(self):
        self._next = 0

    def __repr__(self) -> str:
        return "LeastRequests()"

    def route(self, request, replicas, now_s: float) -> int:
        i = argmin_rotating([r.outstanding for r in replicas], self._next)
        self._next = i + 1
        return i
