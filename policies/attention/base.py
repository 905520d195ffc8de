"""The contract every attention algorithm (the ``attention`` policy family) follows.

An algorithm is a loop nest over tiles.  It answers four questions for one
(batch, head) pair: which tile sizes it uses for a fast memory of M elements, its
peak fast-memory use, its closed-form element counts, and -- for checking and for
timing -- it walks the loop nest tile by tile on a fast-memory object.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["AttentionAlgorithm", "FastMemory"]


@runtime_checkable
class FastMemory(Protocol):
    """What ``walk`` drives; ``memsim.sim.kernel.Sram`` implements it.  Sizes are elements.

    Call order inside a walk: ``phase`` (a new kernel: everything before it has
    finished), ``unit`` (an independent piece of work that may run on its own SM),
    ``alloc``/``free`` of named buffers, then per tile ``load``s, one ``compute``
    and the ``store``s that follow it.  ``load``/``store`` move ``elems`` elements
    between HBM and the named buffer (never more than the buffer holds); a walk
    must never hold more than the capacity (the memory asserts it).
    """

    def phase(self, name: str) -> None: ...
    def unit(self) -> None: ...
    def alloc(self, name: str, elems: int) -> None: ...
    def free(self, name: str) -> None: ...
    def load(self, name: str, elems: int) -> None: ...
    def store(self, name: str, elems: int) -> None: ...
    def load_index(self, entries: int, entry_bytes: int) -> None: ...
    def compute(self, flop: int) -> None: ...


@runtime_checkable
class AttentionAlgorithm(Protocol):
    """One attention algorithm; ``n`` is the sequence length (the KV length for decode).

    ``tiles`` returns ``(block_rows, block_cols)`` -- the constructor's values if
    given, else derived from ``sram_elems`` -- and raises ``ConfigError`` when the
    working set cannot fit.  ``counts`` returns ``(reads, writes, index_bytes)`` in
    elements for one (batch, head) pair; ``walk`` must produce exactly the same
    counts on a ``FastMemory`` and a peak equal to ``footprint_elems``.
    """

    name: str
    decode: bool        # one query against n keys (True) or n queries against n keys

    def tiles(self, *, n: int, d: int, sram_elems: int) -> tuple[int, int]: ...
    def footprint_elems(self, *, n: int, d: int, block_rows: int, block_cols: int) -> int: ...
    def counts(self, *, n: int, d: int, block_rows: int, block_cols: int) -> tuple[int, int, int]: ...
    def hbm_scratch_elems(self, *, n: int, d: int, block_rows: int, block_cols: int) -> int: ...
    def flops(self, *, n: int, d: int) -> int: ...
    def walk(self, mem: FastMemory, *, n: int, d: int, block_rows: int, block_cols: int) -> None: ...


declare_kind("attention", AttentionAlgorithm)
