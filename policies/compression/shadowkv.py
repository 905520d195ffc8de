"""ShadowKV: low-rank keys and chunk landmarks in HBM, values in DRAM fetched sparsely."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import Fetching

__all__ = ["ShadowKV"]


@register("compression")
class ShadowKV(Fetching):
    """Keep keys as a rank-``rank`` projection plus one landmark (mean key) per chunk of
    ``chunk_tokens`` in HBM and values in DRAM; each step score the chunks by their landmarks,
    rebuild the chosen chunks' keys on the GPU and fetch only their values.

    Models: "ShadowKV: KV Cache in Shadows for High-Throughput Long-Context LLM Inference" (2024).
    Parameters:
        top_k_fraction, prediction_accuracy: engine only, as ``infinigen``.
        rank: key rank per layer (paper: 160).
        chunk_tokens: tokens per landmark chunk (paper: 8).
    Differs from the paper: a chunk's landmark score is its tokens' mean attention in the score
    source; the static outlier chunks and the per-sequence projection matrices are not counted.
    """

    name = "shadowkv"
    fetch_unit = 0.5                                   # values only; keys are rebuilt on the GPU

    def __init__(self, *, top_k_fraction: float = 0.1, prediction_accuracy: float = 0.9,
                 rank: int = 160, chunk_tokens: int = 8):
        self._init_engine(top_k_fraction, prediction_accuracy)
        self.rank = int(check_positive("rank", rank))
        self.chunk_tokens = int(check_positive("chunk_tokens", chunk_tokens))

    def __repr__(self) -> str:
        return (f"ShadowKV(top_k_fraction={self.top_k_fraction}, "
                f"prediction_accuracy={self.prediction_accuracy}, rank={self.rank}, "
                f"chunk_tokens={self.chunk_tokens})")

    def kv_bytes_per_token(self, model) -> float:
        b = model.kv_dtype_bytes
        key_dim = model.kv_heads * model.head_dim
        return float(model.layers * (self.rank * b + key_dim * b / self.chunk_tokens))

    def _predict(self, step: int, C: int) -> np.ndarray:
        B = self.chunk_tokens
        n = -(-C // B)
        pad = np.pad(self._peek, [(0, 0), (0, 0), (0, n * B - C)])
        mean = pad.reshape(self.L, self.H, n, B).mean(-1)
        score = np.repeat(mean, B, axis=-1)[..., :C]
        return score + 1e-9 * np.arange(C)           # within a chunk, newer first
