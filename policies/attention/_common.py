"""The shared skeleton of the tiled attention algorithms: constructor, repr, tile choice.

A subclass states its working set (``footprint_elems``) and how it derives tile
sizes from M (``_derive``); this class checks given tile sizes against M and turns
"does not fit" into one ``ConfigError`` line.
"""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._tiles import check_block

__all__ = ["TiledAttention"]


class TiledAttention:
    """Base of the built-in algorithms (not registered itself).

    Subclasses define ``_derive(n=, d=, sram_elems=, block_rows=, block_cols=)``
    (given sizes arrive capped at n, missing ones as ``None``), ``footprint_elems``,
    ``counts``, ``hbm_scratch_elems`` and ``walk``.
    """

    name = ""
    decode = False

    def __init__(self, *, block_rows: int | None = None, block_cols: int | None = None):
        self.block_rows = check_block("block_rows", block_rows)
        self.block_cols = check_block("block_cols", block_cols)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(block_rows={self.block_rows!r}, block_cols={self.block_cols!r})"

    # -- tile choice ---------------------------------------------------------------
    def tiles(self, *, n: int, d: int, sram_elems: int) -> tuple[int, int]:
        br, bc = self._derive(n=n, d=d, sram_elems=sram_elems,
                              block_rows=self._cap_rows(self.block_rows, n),
                              block_cols=self._cap_cols(self.block_cols, n))
        need = self.footprint_elems(n=n, d=d, block_rows=br, block_cols=bc)
        if need > sram_elems:
            raise ConfigError(f"{self.name}: block_rows={br}, block_cols={bc} need {need} elements "
                              f"of fast memory; sram_elems={sram_elems}", field="sram_elems")
        return br, bc

    def _cap_rows(self, b: int | None, n: int) -> int | None:
        return None if b is None else min(b, n)

    def _cap_cols(self, b: int | None, n: int) -> int | None:
        return None if b is None else min(b, n)

    # -- defaults shared by the n-query algorithms -----------------------------------
    def flops(self, *, n: int, d: int) -> int:
        """Matmul FLOPs: S = Q K^T and O = P V, 2 n^2 d each (softmax not counted)."""
        return 4 * n * n * d
