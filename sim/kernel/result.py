"""``AttentionIO``: what one attention configuration moves between SRAM and HBM.

Counts are elements for the whole problem (``batch * heads`` identical heads);
``io_bytes`` multiplies by the element size and adds index (page-table) bytes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["AttentionIO"]


@dataclass(frozen=True)
class AttentionIO:
    """Elements read and written by one algorithm at one size; ``ratio = io / lower_bound``."""

    algo: str
    n: int
    d: int
    sram_elems: int
    heads: int
    batch: int
    dtype_bytes: int
    block_rows: int
    block_cols: int
    reads: int
    """Elements loaded HBM -> SRAM."""
    writes: int
    """Elements stored SRAM -> HBM."""
    index_bytes: int
    """Bytes of page-table entries read (paged decode only)."""
    lower_bound: float
    """Elements any algorithm must move (see ``memsim.sim.kernel.lower_bound``)."""
    peak_sram_elems: int
    """Most elements held in fast memory at once by one unit of work (one SM)."""
    flops: int
    """Matmul FLOPs (softmax not counted)."""
    hbm_scratch_elems: int
    """Intermediates held in HBM besides Q, K, V and O (S and P for naive, l and m ...)."""

    @property
    def io(self) -> int:
        return self.reads + self.writes

    @property
    def io_bytes(self) -> int:
        return self.io * self.dtype_bytes + self.index_bytes

    @property
    def ratio(self) -> float:
        return self.io / self.lower_bound

    def counts(self) -> tuple[int, int, int, int]:
        """``(reads, writes, index_bytes, peak_sram_elems)``: what the two models must agree on."""
        return self.reads, self.writes, self.index_bytes, self.peak_sram_elems

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(io=self.io, io_bytes=self.io_bytes, ratio=self.ratio)
        return out
