"""KV memory allocation policies: how much HBM a request holds, and in what unit.

Protocol (the engine calls these at admission; all in tokens):
    unit_tokens(block_tokens, kv_bytes_per_token, layers) -> int
        allocation granularity: a request's KV grows in whole units
    reserve_tokens(input_tokens, output_tokens, rng) -> int
        tokens reserved up front at admission (0: grow on demand)
    regrow_tokens(needed_tokens, input_tokens, output_tokens) -> int
        a request outgrew its reservation: the new reservation (>= needed_tokens)
"""
from __future__ import annotations

from memsim.ground.units import parse_size

from ..registry import register

__all__ = ["MaxLength", "PredictedLength", "Paged", "VAttention"]


@register("allocation")
class Paged:
    """Fixed-size KV blocks allocated on demand (the default).

    Models: "Efficient Memory Management for Large Language Model Serving with PagedAttention"
    (SOSP 2023).  Waste is at most one partly filled block per sequence.
    Parameters: none (the block size is ``kv.block_tokens``).
    """
    name = "paged"
    shares_prefix_blocks = True

    def unit_tokens(self, block_tokens, kv_bytes_per_token, layers) -> int:
        return block_tokens

    def reserve_tokens(self, input_tokens, output_tokens, rng) -> int:
        return 0

    def regrow_tokens(self, needed_tokens, input_tokens, output_tokens) -> int:
        return needed_tokens

    def __repr__(self):
        return "Paged()"


@register("allocation")
class MaxLength:
    """Reserve a contiguous slot of ``max_tokens`` for every request at admission.

    Models: the pre-PagedAttention baseline (FasterTransformer / Orca style) that the
    PagedAttention paper measures at 60-80% KV memory waste.
    Parameters: max_tokens (tokens, the model's maximum sequence length; default 16384).
    Differs from the paper: external fragmentation between slots is not modelled, only
    reserved-but-unused memory.
    """
    name = "max_length"
    shares_prefix_blocks = False

    def __init__(self, *, max_tokens: int = 16384):
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens={max_tokens!r} must be a positive integer")
        self.max_tokens = max_tokens

    def unit_tokens(self, block_tokens, kv_bytes_per_token, layers) -> int:
        return block_tokens

    def reserve_tokens(self, input_tokens, output_tokens, rng) -> int:
        return self.max_tokens

    def regrow_tokens(self, needed_tokens, input_tokens, output_tokens) -> int:
        return max(needed_tokens, self.max_tokens)

    def __repr__(self):
        return f"MaxLength(max_tokens={self.max_tokens})"


@register("allocation")
class PredictedLength:
    """Reserve input + predicted output; on overflow grow to the true need plus a margin.

    Models: "S3: Increasing GPU Utilization during Generative Inference for Higher Throughput"
    (NeurIPS 2023): an output-length predictor sizes the reservation; a misprediction costs
    a reallocation (or a preemption when memory is short).
    Parameters: error (relative std-dev of the multiplicative prediction error, default 0.3);
    overflow_margin (fraction added on regrowth, default 0.25).
    """
    name = "predicted"
    shares_prefix_blocks = False

    def __init__(self, *, error: float = 0.3, overflow_margin: float = 0.25):
        if not 0 <= error < 5:
            raise ValueError(f"error={error!r} must be in [0, 5)")
        if not 0 <= overflow_margin <= 4:
            raise ValueError(f"overflow_margin={overflow_margin!r} must be in [0, 4]")
        self.error, self.overflow_margin = error, overflow_margin

    def unit_tokens(self, block_tokens, kv_bytes_per_token, layers) -> int:
        return block_tokens

    def reserve_tokens(self, input_tokens, output_tokens, rng) -> int:
        factor = float(rng.lognormal(0.0, self.error)) if self.error else 1.0
        return input_tokens + max(1, int(round(output_tokens * factor)))

    def regrow_tokens(self, needed_tokens, input_tokens, output_tokens) -> int:
        return int(needed_tokens * (1 + self.overflow_margin)) + 1

    def __repr__(self):
        return f"PredictedLength(error={self.error}, overflow_margin={self.overflow_margin})"


@register("allocation")
class VAttention:
    """Demand-paged virtual memory for contiguous KV: physical pages mapped as the KV grows.

    Models: "vAttention: Dynamic Memory Management for Serving LLMs without PagedAttention"
    (ASPLOS 2025).  Each layer's K and V are separate virtual tensors, so a page of
    ``page_size`` bytes holds ``page_size / (kv_bytes_per_token / (2 * layers))`` tokens.
    Parameters: page_size (bytes; 2 MiB GPU pages by default, 64 KiB with the paper's driver change).
    """
    name = "vattention"
    shares_prefix_blocks = False

    def __init__(self, *, page_size: int | str = "2 MiB"):
        self.page_size = parse_size(page_size, field="page_size") if isinstance(page_size, str) else int(page_size)
        if self.page_size <= 0:
            raise ValueError(f"page_size={page_size!r} must be > 0")

    def unit_tokens(self, block_tokens, kv_bytes_per_token, layers) -> int:
        per_tensor_token = kv_bytes_per_token / (2 * layers)
        return max(1, int(self.page_size // per_tensor_token))

    def reserve_tokens(self, input_tokens, output_tokens, rng) -> int:
        return 0

    def regrow_tokens(self, needed_tokens, input_tokens, output_tokens) -> int:
        return needed_tokens

    def __repr__(self):
        return f"VAttention(page_size={self.page_size})"
