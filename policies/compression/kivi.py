"""KIVI: 2-bit KV (keys per channel, values per token) with a full-precision recent window."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import ConfigError, check_positive

from ..registry import register
from ._common import quantized_bytes_per_token

__all__ = ["KIVI"]


@register("compression")
class KIVI:
    """Store every token in ``bits`` bits: keys quantized per channel over groups of
    ``group_size`` tokens, values per token over groups of ``group_size`` channels, each
    group with an fp16 scale and zero point; the newest ``residual_tokens`` stay in full
    precision until a group fills.

    Models: "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache" (ICML 2024);
    ``bits=4`` and ``bits=8`` are the same layout at more bits.
    Parameters:
        bits: 2 (paper), 4 or 8.
        group_size: numbers per quantization group (paper: 32).
        residual_tokens: full-precision recent window R (paper: 128).
        reference_context_tokens: engine only; the residual window is amortised over this
            many context tokens: bytes/token = q + (full - q) * min(R, ref) / ref.
    Differs from the paper: no accuracy is modelled; every token is attended (recall 1).
    """

    name = "kivi"
    mode = "quantize"

    def __init__(self, *, bits: int = 2, group_size: int = 32, residual_tokens: int = 128,
                 reference_context_tokens: int = 4096):
        if bits not in (2, 4, 8):
            raise ConfigError(f"bits={bits!r} must be 2, 4 or 8")
        self.bits = bits
        self.group_size = int(check_positive("group_size", group_size))
        self.residual_tokens = int(check_positive("residual_tokens", residual_tokens, allow_zero=True))
        self.reference_context_tokens = int(check_positive("reference_context_tokens",
                                                           reference_context_tokens))

    def __repr__(self) -> str:
        return (f"KIVI(bits={self.bits}, group_size={self.group_size}, "
                f"residual_tokens={self.residual_tokens}, "
                f"reference_context_tokens={self.reference_context_tokens})")

    def quantized_bytes_per_token(self, model) -> float:
        """Bytes per token of the quantized part (data + per-group scale and zero point)."""
        return quantized_bytes_per_token(model, self.bits, self.group_size)

    # ---- engine -------------------------------------------------------------
    def kv_bytes_per_token(self, model) -> float:
        return self.context_bytes(model, self.reference_context_tokens) / self.reference_context_tokens

    def hbm_read_fraction(self, model) -> float:
        return 1.0

    def fetch_bytes_per_token(self, model) -> float:
        return 0.0

    def context_bytes(self, model, context_tokens: int) -> float:
        """Stored bytes of a ``context_tokens``-token sequence (residual window exact)."""
        r = min(context_tokens, self.residual_tokens)
        return self.quantized_bytes_per_token(model) * (context_tokens - r) \
            + float(model.kv_bytes_per_token) * r

    # ---- token level --------------------------------------------------------
    def start(self, *, prompt_tokens: int, layers: int, heads: int, budget_tokens: int,
              prefill) -> None:
        self.L, self.H = layers, heads

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        return np.ones((self.L, self.H, context_tokens), dtype=bool)

    def observe(self, step: int, probs) -> None:
        pass

    def step_bytes(self, model, planned, context_tokens: int):
        b = self.context_bytes(model, context_tokens)
        return b, b, 0.0
