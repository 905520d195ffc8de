"""Full cache: every token's KV stays resident at full precision (the baseline)."""
from __future__ import annotations

import numpy as np

from ..registry import register
from ._common import Evicting

__all__ = ["FullCache"]


@register("compression", aliases=("full_cache",))
class FullCache(Evicting):
    """Keep every token; the reference every other policy's recall and bytes are measured against.

    Models: the uncompressed KV cache of autoregressive decoding ("Attention Is All You Need", NeurIPS 2017).
    Parameters: none (the token budget is ignored).
    Differs from the paper: nothing.
    """

    name = "full"

    def __init__(self):
        self._init_engine(None)

    def __repr__(self) -> str:
        return "FullCache()"

    def _allocate(self, prefill, budget_tokens: int) -> np.ndarray:
        return np.full(prefill.shape[0], np.iinfo(np.int64).max // 4, dtype=np.int64)
