"""InfiniGen: full KV in DRAM; each layer's top-k is speculated from the previous layer."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_fraction

from ..registry import register
from ._common import Fetching

__all__ = ["InfiniGen"]


@register("compression")
class InfiniGen(Fetching):
    """Keep the KV cache in host memory; before layer l runs, speculate its important tokens
    from layer l-1 (partial query weights times a partial key cache resident in HBM) and fetch
    only those ``top_k`` tokens' K and V over PCIe.

    Models: "InfiniGen: Efficient Generative Inference of Large Language Models with Dynamic
    KV Cache Management" (OSDI 2024).
    Parameters:
        top_k_fraction: engine only; share of context tokens fetched per step (token level:
            the budget is k tokens per layer-head).
        prediction_accuracy: engine only; share of the true top-k the speculation finds; the
            rest costs a blocking fetch (token level: measured).
        partial_key_fraction: share of key channels kept in HBM for speculation (assumed 0.3).
    Differs from the paper: the speculation for layer l is layer l-1's attention at the same
    step (layer 0: its own previous step), which the score source correlates across layers
    through ``layer_correlation``; mispredicted top-k tokens are fetched again, blocking.
    """

    name = "infinigen"

    def __init__(self, *, top_k_fraction: float = 0.1, prediction_accuracy: float = 0.9,
                 partial_key_fraction: float = 0.3):
        self._init_engine(top_k_fraction, prediction_accuracy)
        self.partial_key_fraction = check_fraction("partial_key_fraction", partial_key_fraction,
                                                   open_low=True)

    def __repr__(self) -> str:
        return (f"InfiniGen(top_k_fraction={self.top_k_fraction}, "
                f"prediction_accuracy={self.prediction_accuracy}, "
                f"partial_key_fraction={self.partial_key_fraction})")

    def kv_bytes_per_token(self, model) -> float:
        return self.partial_key_fraction * float(model.kv_bytes_per_token) / 2.0

    def _predict(self, step: int, C: int) -> np.ndarray:
        cur = self._peek
        score = np.empty((self.L, self.H, C))
        score[1:] = cur[:-1]
        prev = getattr(self, "_prev", None)
        if prev is None:
            score[0] = cur[0]
        else:
            score[0, :, :prev.shape[-1]] = prev[0]
            score[0, :, prev.shape[-1]:] = np.inf        # the newest token is always fetched
        self._prev = cur
        return score

    def start(self, **kw) -> None:
        super().start(**kw)
        self._prev = None
