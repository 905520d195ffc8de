"""Random: a uniformly drawn replica, from the scenario's seeded generator."""
from __future__ import annotations

import numpy as np

from ..registry import register

__all__ = ["Random"]


@register("router")
class Random:
    """Send each request to a replica drawn uniformly at random.

    Models: uniform random dispatch, the baseline of "The Power of Two Choices in Randomized Load Balancing" (Mitzenmacher, IEEE TPDS 2001).
    Parameters:
        rng: a ``numpy.random.Generator``; the engine passes one spawned from the
            scenario seed, so runs are reproducible.
        seed: used only when no ``rng`` is given (default 0).
    Differs from the paper: nothing (one choice, not two).
    """

    name = "random"

    def __init__(self, *, rng: np.random.Generator | None = None, seed: int = 0):
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.seed = seed
        self._rng = rng if rng is not None else np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"Random(seed={self.seed})"

    def route(self, request, replicas, now_s: float) -> int:
        return int(self._rng.integers(len(replicas)))
