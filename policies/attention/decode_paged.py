"""Paged decode attention: the KV cache lives in fixed-size blocks found via a page table.

Each tile is one KV block, read whole (a partially filled last block still costs a
full block), and the kernel first reads the sequence's page-table entries.  When n
is a multiple of the block size the KV reads equal the contiguous kernel's.
"""
from __future__ import annotations

from memsim.policies.registry import register

from ._common import TiledAttention
from ._tiles import ceil_div, too_small

__all__ = ["DecodePaged"]

PAGE_TABLE_ENTRY_BYTES = 4   # int32 block ids, as in vLLM's block tables


@register("attention", aliases=("decode-paged",))
class DecodePaged(TiledAttention):
    """Stream a paged KV cache block by block, reading the page table first (paged decode).

    Models: Efficient Memory Management for Large Language Model Serving with
    PagedAttention (Kwon et al., SOSP 2023).

    Parameters:
        block_cols: tokens per KV block (vLLM's default block size: 16).
        block_rows: ignored (one query row).

    Differs from the paper: vLLM's kernel splits a block over warps and masks the
    unused tail of the last block; we charge the whole last block (it is fetched
    at block granularity) and count the page table as ceil(n / block) int32 reads
    per (sequence, head), held outside the modelled fast memory (registers).
    """

    name = "decode_paged"
    decode = True

    def __init__(self, *, block_rows: int | None = None, block_cols: int | None = 16):
        super().__init__(block_rows=block_rows, block_cols=16 if block_cols is None else block_cols)

    def _cap_rows(self, b, n):
        return 1

    def _cap_cols(self, b, n):
        return b                                          # a block keeps its size even if n < b

    def footprint_elems(self, *, n, d, block_rows, block_cols):
        return 2 * d + 2 * block_cols * d + block_cols + 3

    def _derive(self, *, n, d, sram_elems, block_rows, block_cols):
        need = self.footprint_elems(n=n, d=d, block_rows=1, block_cols=block_cols)
        if need > sram_elems:
            raise too_small(self.name, sram_elems, need, f"one KV block of {block_cols} tokens")
        return 1, block_cols

    def counts(self, *, n, d, block_rows, block_cols):
        pages = ceil_div(n, block_cols)
        return d + 2 * pages * block_cols * d, d, pages * PAGE_TABLE_ENTRY_BYTES

    def hbm_scratch_elems(self, *, n, d, block_rows, block_cols):
        return 0

    def flops(self, *, n, d):
        return 4 * n * d

    def walk(self, mem, *, n, d, block_rows, block_cols):
        bs = block_cols
        pages = ceil_div(n, bs)
        mem.phase("decode_paged")
        mem.unit()
        for buf, size in (("q", d), ("o", d), ("K", bs * d), ("V", bs * d), ("s", bs),
                          ("stats", 3)):
            mem.alloc(buf, size)
        mem.load_index(pages, PAGE_TABLE_ENTRY_BYTES)
        mem.load("q", d)
        for p in range(pages):
            valid = min(bs, n - p * bs)                   # tokens that count in the softmax
            mem.load("K", bs * d)                          # the whole block is fetched
            mem.load("V", bs * d)
            mem.compute(4 * valid * d)
        mem.store("o", d)
