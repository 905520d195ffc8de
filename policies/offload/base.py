"""The interface of offload placement policies (``memsim offload``).

A placement says, for each tensor class (weights, KV cache, activations), which
fractions live on the GPU, in CPU memory and on disk.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["Offload"]


@runtime_checkable
class Offload(Protocol):
    """Where weights, KV cache and activations live.

    * ``fractions()`` -> ``{tensor: (gpu, cpu, disk)}``, each triple summing to 1.
    * ``check()`` asserts that.
    """

    name: str

    def fractions(self) -> dict[str, tuple[float, float, float]]: ...

    def check(self) -> None: ...


declare_kind("offload", Offload)
