"""Windowing: keep in DRAM the neurons active for any of the last k tokens."""
from __future__ import annotations

import numpy as np

from memsim.policies.registry import register

__all__ = ["Windowing"]


@register("flash")
class Windowing:
    """Cache the FFN neurons active over a sliding window of tokens; read only new ones.

    Models: LLM in a flash: Efficient Large Language Model Inference with Limited
    Memory (Alizadeh et al., ACL 2024) -- "windowing": neurons active for any of
    the last ``window`` tokens stay in DRAM; per token only neurons that were not
    in the window are read from flash, and neurons that left it are dropped.

    Parameters:
        window: tokens in the window, >= 1 (the paper's OPT 6.7B run uses 5).

    The DRAM footprint is the union of the window's active sets.  Storage is
    unbundled: a neuron costs one read per FFN matrix (see ``windowing_bundling``).

    Differs from the paper: activations come from the trace (an oracle
    predictor), and the window does not shrink when DRAM is short; the
    simulator reports whether the footprint fits instead.
    """

    name = "windowing"
    bundled = False
    dense_compute = False

    def __init__(self, *, window: int = 5):
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window={window!r} must be an int >= 1")
        self.window = window
        self._history: list[np.ndarray] = []
        self._count: np.ndarray | None = None   # tokens in the window each neuron was active

    def __repr__(self) -> str:
        return f"{type(self).__name__}(window={self.window})"

    def start(self, *, layers: int, neurons: int, neuron_bytes: int,
              ffn_budget_bytes: int) -> np.ndarray:
        self._history = []
        self._count = np.zeros((layers, neurons), dtype=np.int32)
        return np.zeros((layers, neurons), dtype=bool)

    def step(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        before = self._count > 0
        load = active & ~before
        self._history.append(active.copy())
        self._count += active
        if len(self._history) > self.window:
            self._count -= self._history.pop(0)
        return load, self._count > 0

    def check(self) -> None:
        assert self._count is not None, "step() before start()"
        assert len(self._history) <= self.window
        expect = np.sum(self._history, axis=0) if self._history else 0
        assert np.array_equal(self._count, expect + np.zeros_like(self._count))
        assert (self._count >= 0).all()
