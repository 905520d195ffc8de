"""SAGE-KV / SnapKV-style one-shot selection: pick the prompt's top tokens once, after prefill."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_fraction, check_positive

from ..registry import register
from ._common import Evicting

__all__ = ["SAGEKV"]


def _max_pool(x: np.ndarray, kernel: int) -> np.ndarray:
    """Max over a centred window of ``kernel`` tokens along the last axis."""
    r = kernel // 2
    pad = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(r, r)], constant_values=-np.inf)
    n = x.shape[-1]
    return np.max(np.stack([pad[..., i:i + n] for i in range(2 * r + 1)]), axis=0)


@register("compression", aliases=("snapkv",))
class SAGEKV(Evicting):
    """After prefill, keep per head the prompt tokens with the largest (max-pooled) attention from
    the prompt's last queries, plus the sinks; the selection never changes.  Decode tokens
    share the rest of the budget as a sliding window.

    Models: "LLMs Know What to Drop: Self-Attention Guided KV Cache Eviction for Efficient
    Long-Context Inference" (SAGE-KV, 2025), one-shot top-k per token and head after prefill,
    with SnapKV's observation-window pooling.
    Parameters:
        decode_fraction: share of the budget left for decode tokens (a sliding window).
        pool_tokens: max-pooling kernel over the prompt scores (SnapKV: 7).
        sink_tokens: initial tokens always selected.
        budget_fraction: engine only, see ``Evicting``.
    Differs from the paper: SAGE-KV keeps every decode token; here they share a fixed budget
    as a window so every policy meets the same budget.
    """

    name = "sage_kv"

    def __init__(self, *, decode_fraction: float = 0.25, pool_tokens: int = 7, sink_tokens: int = 4,
                 budget_fraction: float | None = None):
        self.decode_fraction = check_fraction("decode_fraction", decode_fraction)
        self.pool_tokens = int(check_positive("pool_tokens", pool_tokens))
        self.sink_tokens = int(check_positive("sink_tokens", sink_tokens, allow_zero=True))
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return (f"SAGEKV(decode_fraction={self.decode_fraction}, pool_tokens={self.pool_tokens}, "
                f"sink_tokens={self.sink_tokens}, budget_fraction={self.budget_fraction})")

    def _start(self) -> None:
        pooled = _max_pool(self.prefill, self.pool_tokens)
        pooled[..., :self.sink_tokens] = np.inf
        self.selected = np.zeros((self.L, self.H, self.P), dtype=bool)
        order = np.argsort(-pooled, axis=-1, kind="stable")
        for li in range(self.L):
            k = max(1, int(round((1 - self.decode_fraction) * self.budgets[li])))
            np.put_along_axis(self.selected[li], order[li, :, :min(k, self.P)], True, axis=-1)

    def _scores(self, step: int, C: int):
        score = np.broadcast_to(np.arange(C, dtype=float), (self.L, self.H, C))
        protect = np.zeros((self.L, self.H, C), dtype=bool)
        protect[..., :self.P] = self.selected
        return score, protect
