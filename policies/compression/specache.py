"""SpeCache: a low-bit KV copy in HBM scores every token; the top-k full KV are fetched."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import ConfigError, check_positive

from ..registry import register
from ._common import Fetching, quantized_bytes_per_token

__all__ = ["SpeCache"]


@register("compression")
class SpeCache(Fetching):
    """Offload the full KV cache to DRAM, keep a ``bits``-bit copy in HBM, use it to score the
    tokens and fetch the top-k at full precision, speculatively and overlapped with compute.

    Models: "SpeCache: Speculative Key-Value Caching for Efficient Generation of LLMs" (ICML 2025).
    Parameters:
        top_k_fraction, prediction_accuracy: engine only, as ``infinigen``.
        bits: bits of the HBM copy (1 or 2 in the paper; 1, 2, 4 or 8 here).
        group_size: quantization group of the copy (fp16 scale + zero point each).
        score_noise_std: logit error of the low-bit scores (default ``1 / (2**bits - 1)``,
            the quantization step relative to the logit range; an assumption).
    Differs from the paper: the low-bit copy's scoring error is Gaussian noise on the log
    attention of the score source; mispredictions are fetched again, blocking.
    """

    name = "specache"

    def __init__(self, *, top_k_fraction: float = 0.1, prediction_accuracy: float = 0.9, bits: int = 1,
                 group_size: int = 32, score_noise_std: float | None = None):
        self._init_engine(top_k_fraction, prediction_accuracy)
        if bits not in (1, 2, 4, 8):
            raise ConfigError(f"bits={bits!r} must be 1, 2, 4 or 8")
        self.bits = bits
        self.group_size = int(check_positive("group_size", group_size))
        self.score_noise_std = (1.0 / (2 ** bits - 1) if score_noise_std is None
                                else float(check_positive("score_noise_std", score_noise_std,
                                                          allow_zero=True)))

    def __repr__(self) -> str:
        return (f"SpeCache(top_k_fraction={self.top_k_fraction}, "
                f"prediction_accuracy={self.prediction_accuracy}, bits={self.bits}, "
                f"group_size={self.group_size}, score_noise_std={self.score_noise_std})")

    def kv_bytes_per_token(self, model) -> float:
        return quantized_bytes_per_token(model, self.bits, self.group_size)

    def _predict(self, step: int, C: int) -> np.ndarray:
        logp = np.log(np.maximum(self._peek, 1e-30))
        return logp + self.score_noise_std * self._rng.standard_normal(logp.shape)
