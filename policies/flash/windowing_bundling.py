"""Windowing with row-column bundling: the paper's full method."""
from __future__ import annotations

from memsim.policies.registry import register

from .windowing import Windowing

__all__ = ["WindowingBundling"]


@register("flash")
class WindowingBundling(Windowing):
    """Windowing over bundled storage: one read fetches all of a new neuron's weights.

    Models: LLM in a flash: Efficient Large Language Model Inference with Limited
    Memory (Alizadeh et al., ACL 2024) -- windowing plus row-column bundling,
    the combination behind its "up to twice the size of the available DRAM"
    and 4-5x (CPU) / 20-25x (GPU) results.

    Parameters:
        window: tokens in the window, >= 1 (the paper uses 5).

    Same cache decisions as ``windowing``; only the storage layout differs, so a
    new neuron costs one read of ``matrices * hidden * dtype_bytes`` bytes instead
    of one read per matrix, and the flash curve gives it a higher throughput.

    Differs from the paper: oracle activations; no window shrinking under DRAM
    pressure.
    """

    name = "windowing_bundling"
    bundled = True
