"""StreamingLLM / LM-Infinite: attention-sink tokens plus a window of the most recent tokens."""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import Evicting

__all__ = ["StreamingLLM"]


@register("compression", aliases=("lm_infinite", "sliding_window"))
class StreamingLLM(Evicting):
    """Keep the first ``sink_tokens`` tokens and the most recent ``budget - sink_tokens``.

    Models: the Lambda-shaped mask of "LM-Infinite: Simple On-the-Fly Length Generalization for
    Large Language Models" (NAACL 2024), the same family as StreamingLLM ("Efficient Streaming
    Language Models with Attention Sinks", ICLR 2024), the baseline inside SAGE-KV and HiP.
    Parameters:
        sink_tokens: initial tokens always kept (StreamingLLM: 4).
        budget_fraction: engine only, see ``Evicting`` (default None: full bytes).
    Differs from the paper: the cache is evicted to the token budget at every step, per head;
    LM-Infinite's distance limit on positions is not modelled (it changes accuracy, not bytes).
    """

    name = "streaming_llm"

    def __init__(self, *, sink_tokens: int = 4, budget_fraction: float | None = None):
        self.sink_tokens = int(check_positive("sink_tokens", sink_tokens, allow_zero=True))
        self._init_engine(budget_fraction)

    def __repr__(self) -> str:
        return f"StreamingLLM(sink_tokens={self.sink_tokens}, budget_fraction={self.budget_fraction})"

    def _scores(self, step: int, C: int):
        pos = np.arange(C, dtype=float)
        score = np.broadcast_to(pos, (self.L, self.H, C))      # newer = keep
        protect = np.zeros((self.L, self.H, C), dtype=bool)
        protect[..., :self.sink_tokens] = True
        return score, protect
