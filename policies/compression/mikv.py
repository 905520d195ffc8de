"""MiKV: important tokens at high precision, the tokens an eviction policy would drop at low."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import ConfigError, check_fraction, check_positive

from ..registry import register
from ._common import quantized_bytes_per_token
from .h2o import H2O

__all__ = ["MiKV"]


@register("compression")
class MiKV:
    """Choose the budget's tokens with H2O's heavy-hitter rule and keep them at ``high_bits``;
    keep every other token (H2O would evict it) at ``low_bits`` instead of dropping it.

    Models: "No Token Left Behind: Reliable KV Cache Compression via Importance-Aware Mixed
    Precision Quantization" (MiKV, 2024).
    Parameters:
        high_fraction: engine only; share of tokens at high precision (token level: the budget).
        low_bits: bits of demoted tokens (2, 4 or 8; paper: low precision such as INT2/INT4).
        high_bits: bits of important tokens (16 = the model's KV dtype, or 8/4).
        group_size: quantization group (fp16 scale + zero point each).
        recent_fraction: H2O's recent share of the high-precision budget.
    Differs from the paper: the outlier-aware channel balancing is not modelled; every token is
    attended (recall 1) and ``high_precision_recall`` is the mass on high-precision tokens.
    """

    name = "mikv"
    mode = "quantize"

    def __init__(self, *, high_fraction: float = 0.2, low_bits: int = 2, high_bits: int = 16,
                 group_size: int = 32, recent_fraction: float = 0.5):
        self.high_fraction = check_fraction("high_fraction", high_fraction)
        for nm, b in (("low_bits", low_bits), ("high_bits", high_bits)):
            if b not in (2, 4, 8, 16):
                raise ConfigError(f"{nm}={b!r} must be 2, 4, 8 or 16")
        self.low_bits, self.high_bits = low_bits, high_bits
        self.group_size = int(check_positive("group_size", group_size))
        self._sel = H2O(recent_fraction=recent_fraction)

    def __repr__(self) -> str:
        return (f"MiKV(high_fraction={self.high_fraction}, low_bits={self.low_bits}, "
                f"high_bits={self.high_bits}, group_size={self.group_size})")

    def _bytes(self, model, bits: int) -> float:
        if bits == 16:
            return float(model.kv_bytes_per_token)
        return quantized_bytes_per_token(model, bits, self.group_size)

    # ---- engine -------------------------------------------------------------
    def kv_bytes_per_token(self, model) -> float:
        f = self.high_fraction
        return f * self._bytes(model, self.high_bits) + (1 - f) * self._bytes(model, self.low_bits)

    def hbm_read_fraction(self, model) -> float:
        return 1.0

    def fetch_bytes_per_token(self, model) -> float:
        return 0.0

    # ---- token level --------------------------------------------------------
    def start(self, *, prompt_tokens: int, layers: int, heads: int, budget_tokens: int,
              prefill) -> None:
        self.L, self.H = layers, heads
        self._sel.start(prompt_tokens=prompt_tokens, layers=layers, heads=heads,
                        budget_tokens=budget_tokens, prefill=prefill)
        self.high_precision = None

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        self.high_precision = self._sel.plan(step, context_tokens)
        return np.ones((self.L, self.H, context_tokens), dtype=bool)

    def observe(self, step: int, probs) -> None:
        self._sel.observe(step, probs)

    def step_bytes(self, model, planned, context_tokens: int):
        slots = self.L * self.H
        n_hi = float(self.high_precision.sum())
        n_lo = slots * context_tokens - n_hi
        b = (n_hi * self._bytes(model, self.high_bits) + n_lo * self._bytes(model, self.low_bits)) / slots
        return b, b, 0.0
