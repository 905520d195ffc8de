"""Naive flash loading: keep what fits in DRAM, re-read the rest of the FFN every token."""
from __future__ import annotations

import numpy as np

from memsim.policies.registry import register

__all__ = ["Naive"]


@register("flash")
class Naive:
    """Re-read every FFN neuron that is not permanently resident, for every token.

    Models: LLM in a flash: Efficient Large Language Model Inference with Limited
    Memory (Alizadeh et al., ACL 2024) -- its "naive" baseline: the part of the
    model that fits in DRAM stays there and the rest is loaded from flash for
    every forward pass, in large sequential reads (the best case for flash).

    Which neurons stay: the first ``R`` of every layer, the largest ``R`` such that
    ``layers * R`` resident neurons plus one layer's streaming buffer of
    ``neurons - R`` fit in the FFN budget.  Storage is unbundled (one read per
    matrix), and since the non-resident neurons of a layer are contiguous, each
    layer costs one large read per matrix.

    Parameters:
        sparse: False (the paper's baseline): compute, hence load, every
            non-resident neuron.  True: load only the neurons active for this token,
            with no cache (the paper's "predictor" step without windowing).

    Differs from the paper: activations come from the trace (an oracle
    predictor); the predictor's own weights are not counted.
    """

    name = "naive"
    bundled = False

    def __init__(self, *, sparse: bool = False):
        if not isinstance(sparse, bool):
            raise ValueError(f"sparse={sparse!r} must be true or false")
        self.sparse = sparse
        self.dense_compute = not sparse
        self._keep: np.ndarray | None = None
        self.resident_per_layer = 0

    def __repr__(self) -> str:
        return f"Naive(sparse={self.sparse})"

    def start(self, *, layers: int, neurons: int, neuron_bytes: int,
              ffn_budget_bytes: int) -> np.ndarray:
        free = ffn_budget_bytes // neuron_bytes - neurons   # budget minus one layer's buffer
        r = free // (layers - 1) if layers > 1 else (neurons if free >= 0 else 0)
        self.resident_per_layer = int(max(0, min(neurons, r)))
        self._keep = np.zeros((layers, neurons), dtype=bool)
        self._keep[:, :self.resident_per_layer] = True
        return self._keep.copy()

    def step(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        load = (active & ~self._keep) if self.sparse else ~self._keep
        return load, self._keep

    def check(self) -> None:
        assert self._keep is not None, "step() before start()"
        assert int(self._keep.sum()) == self._keep.shape[0] * self.resident_per_layer
