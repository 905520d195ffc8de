"""FlexGen placement: what fraction of weights, KV cache and activations sits on GPU/CPU/disk."""
from __future__ import annotations

import math

from memsim.policies.registry import register

__all__ = ["FlexGen", "TENSORS", "DEVICES"]

TENSORS = ("weights", "kv", "activations")
DEVICES = ("gpu", "cpu", "disk")


def _triple(name: str, value) -> tuple[float, float, float]:
    if isinstance(value, dict):
        unknown = set(value) - set(DEVICES)
        if unknown:
            raise ValueError(f"{name}: unknown device {sorted(unknown)[0]!r}; known: gpu, cpu, disk")
        value = [value.get(d, 0.0) for d in DEVICES]
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} must be three fractions [gpu, cpu, disk]") from None
    if len(out) != 3 or any(not math.isfinite(v) or v < 0 or v > 1 for v in out):
        raise ValueError(f"{name}={value!r} must be three fractions in [0, 1] [gpu, cpu, disk]")
    if abs(sum(out) - 1.0) > 1e-6:
        raise ValueError(f"{name}={list(out)} must sum to 1 (got {sum(out):.6g})")
    return out


@register("offload")
class FlexGen:
    """Split each tensor class over GPU, CPU and disk; stream the off-GPU parts per layer.

    Models: FlexGen: High-Throughput Generative Inference of Large Language Models
    with a Single GPU (Sheng et al., ICML 2023) -- its offloading policy: fractions
    of the weights, the KV cache and the activations held on GPU / CPU / disk, a
    zig-zag block schedule in which one layer's weights are loaded once for a block
    of ``num_gpu_batches`` GPU batches, and loads/stores overlapped with compute.

    Parameters:
        weights, kv, activations: ``[gpu, cpu, disk]`` fractions, each summing to 1
            (or a mapping ``{gpu: .., cpu: .., disk: ..}``).  Default: all on GPU.
        num_gpu_batches: GPU batches per block (>= 1); the block is the whole batch,
            so the GPU batch is ``batch / num_gpu_batches``.

    Differs from the paper: no CPU delegation of attention and no weight/KV
    compression; decode steps are priced at the mean context length, as in the
    paper's cost model.
    """

    name = "flexgen"

    def __init__(self, *, weights=(1.0, 0.0, 0.0), kv=(1.0, 0.0, 0.0),
                 activations=(1.0, 0.0, 0.0), num_gpu_batches: int = 1):
        self.weights = _triple("weights", weights)
        self.kv = _triple("kv", kv)
        self.activations = _triple("activations", activations)
        if isinstance(num_gpu_batches, bool) or not isinstance(num_gpu_batches, int) \
                or num_gpu_batches < 1:
            raise ValueError(f"num_gpu_batches={num_gpu_batches!r} must be an int >= 1")
        self.num_gpu_batches = num_gpu_batches

    def fractions(self) -> dict[str, tuple[float, float, float]]:
        """``{"weights": (gpu, cpu, disk), "kv": ..., "activations": ...}``."""
        return {"weights": self.weights, "kv": self.kv, "activations": self.activations}

    def __repr__(self) -> str:
        f = ", ".join(f"{k}=({', '.join(f'{x:.3g}' for x in v)})" for k, v in self.fractions().items())
        return f"FlexGen({f}, num_gpu_batches={self.num_gpu_batches})"

    def check(self) -> None:
        for k, v in self.fractions().items():
            assert abs(sum(v) - 1.0) < 1e-6 and all(0 <= x <= 1 for x in v), (k, v)
