"""Argument checks shared by the expert-prefetch policies."""
from __future__ import annotations

__all__ = ["check_shape"]


def check_shape(layers, experts, budget) -> tuple[int, int, int]:
    """``(layers, experts, budget)`` as ints, or ValueError naming the bad one."""
    for name, v, low in (("layers", layers, 1), ("experts", experts, 1), ("budget", budget, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name}={v!r} must be an int >= {low}")
    return layers, experts, budget
