"""Row-column bundling alone: read active neurons' weights in one chunk each, no cache."""
from __future__ import annotations

import numpy as np

from memsim.policies.registry import register

__all__ = ["Bundling"]


@register("flash")
class Bundling:
    """Read every active FFN neuron from flash each token, bundled, with no DRAM cache.

    Models: LLM in a flash: Efficient Large Language Model Inference with Limited
    Memory (Alizadeh et al., ACL 2024) -- "row-column bundling": the i-th column
    of the up projection and the i-th row of the down projection are stored
    next to each other, so one read of twice the size fetches both (three
    matrices for gated FFNs), and flash delivers more throughput per byte.

    Parameters: none.

    Differs from the paper: activations come from the trace (an oracle
    predictor); without windowing nothing is reused across tokens.
    """

    name = "bundling"
    bundled = True
    dense_compute = False

    def __init__(self):
        self._shape: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return "Bundling()"

    def start(self, *, layers: int, neurons: int, neuron_bytes: int,
              ffn_budget_bytes: int) -> np.ndarray:
        self._shape = (layers, neurons)
        return np.zeros(self._shape, dtype=bool)

    def step(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return active.copy(), np.zeros(self._shape, dtype=bool)

    def check(self) -> None:
        assert self._shape is not None, "step() before start()"
