"""The contract of a flash weight-loading policy: per token, which FFN neurons to read.

Weights of the feed-forward layers live on flash; everything else stays in DRAM.
For every generated token the simulator shows the policy which neurons fire and
the policy answers which to read from flash and which to keep in DRAM afterwards.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from ..registry import declare_kind

__all__ = ["FlashPolicy"]


class FlashPolicy(Protocol):
    """Decides flash reads and the DRAM-resident set of FFN neurons, token by token.

    Call order: ``start(...)`` once, then ``step(active)`` once per token, with
    ``check()`` allowed after any call.  The policy owns its own state and never
    mutates ``active``.

    Attributes:
        name: registry name.
        bundled: storage layout.  True: neuron ``i``'s up-projection column and
            down-projection row (and gate column) are stored together, so one read
            fetches them; False: one read per matrix.
        dense_compute: True if every FFN neuron is computed each token (no
            sparsity prediction), so every neuron must be in DRAM when its layer runs.

    ``start(layers, neurons, neuron_bytes, ffn_budget_bytes)``: the model's FFN
    shape, the bytes of one neuron over all its matrices, and the DRAM bytes left
    for FFN weights once attention, embeddings and the KV cache are resident.  It
    returns the neurons loaded into DRAM before the first token (bool ``[layers,
    neurons]``; loading them is model start-up, not per-token cost).

    ``step(active) -> (load, keep)``: ``active`` is bool ``[layers, neurons]``.
    ``load`` (same shape) are the neurons read from flash for this token; ``keep``
    are the neurons resident in DRAM after the token.  The simulator asserts that
    every neuron it computes was kept from the previous token or loaded now, and
    that ``keep`` holds only neurons that were already resident or were loaded.
    """

    name: str
    bundled: bool
    dense_compute: bool

    def start(self, *, layers: int, neurons: int, neuron_bytes: int,
              ffn_budget_bytes: int) -> np.ndarray: ...

    def step(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def check(self) -> None: ...


declare_kind("flash", FlashPolicy)
