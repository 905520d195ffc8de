"""PagedEviction: evict whole KV blocks (vLLM pages), so eviction leaves no holes."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import Evicting

__all__ = ["PagedEviction"]


@register("compression")
class PagedEviction(Evicting):
    """Tokens live in blocks of ``block_tokens`` consecutive positions; when a layer-head is
    over budget, drop its full resident block with the smallest mean accumulated attention
    (never the block being filled or the sink block) until it fits.

    Models: "PagedEviction: Structured Block-wise KV Cache Pruning for Efficient Large Language
    Model Inference" (2025).
    Parameters:
        block_tokens: tokens per block (vLLM: 16).
        budget_fraction: engine only, see ``Evicting``.
    Differs from the paper: a block's score is its tokens' mean accumulated attention from the
    score source, not the paper's attention-free key/value-norm ratio.
    """

    name = "paged_eviction"

    def __init__(self, *, block_tokens: int = 16, budget_fraction: float | None = None):
        self.block_tokens = int(check_positive("block_tokens", block_tokens))
        self.slack_tokens = 2 * self.block_tokens     # the sink and filling blocks stay
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return f"PagedEviction(block_tokens={self.block_tokens}, budget_fraction={self.budget_fraction})"

    def _start(self) -> None:
        self.acc = self.prefill * self.P

    def _grown(self, old: int, new: int) -> None:
        self.acc = np.concatenate([self.acc, np.zeros((self.L, self.H, new - old))], axis=-1)

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        self._grow(context_tokens)
        B = self.block_tokens
        C = context_tokens
        nblk = -(-C // B)
        pad = nblk * B - C
        res = np.pad(self.resident, [(0, 0), (0, 0), (0, pad)]).reshape(self.L, self.H, nblk, B)
        acc = np.pad(self.acc[..., :C], [(0, 0), (0, 0), (0, pad)]).reshape(self.L, self.H, nblk, B)
        cnt = res.sum(-1)
        mean = np.where(cnt > 0, (acc * res).sum(-1) / np.maximum(cnt, 1), np.inf)
        mean[..., 0] = np.inf                                 # sinks
        mean[..., (C - 1) // B] = np.inf                      # the block being filled
        for li in range(self.L):
            for hi in range(self.H):
                over = int(cnt[li, hi].sum()) - int(self.budgets[li])
                if over <= 0:
                    continue
                for b in np.argsort(mean[li, hi], kind="stable"):
                    if over <= 0 or not np.isfinite(mean[li, hi, b]):
                        break
                    self.resident[li, hi, b * B:(b + 1) * B] = False
                    over -= int(cnt[li, hi, b])
        return self.resident.copy()

    def _observe(self, step: int, probs: np.ndarray) -> None:
        self.acc[..., :probs.shape[-1]] += probs
