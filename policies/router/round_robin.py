"""Round robin: the next replica in turn, whatever its state."""
from __future__ import annotations

from ..registry import register

__all__ = ["RoundRobin"]


@register("router")
class RoundRobin:
    """Send each request to the next candidate replica in cluster order.

    Models: round-robin dispatch, the load-oblivious baseline of every cluster router (the placement aisimulate uses for `parallelism: {replicas: N}`).
    Parameters: none.
    Differs from the paper: no paper; one cursor per router instance, so under
    prefill/decode disaggregation the prefill and decode routers turn independently.
    """

    name = "round_robin"

    def __init__(self):
        self._next = 0

    def __repr__(self) -> str:
        return "RoundRobin()"

    def route(self, request, replicas, now_s: float) -> int:
        i = self._next % len(replicas)
        self._next = i + 1
        return i
