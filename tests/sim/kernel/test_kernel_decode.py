"""Decode attention: contiguous vs paged KV reads, partial last block, page table."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.sim.kernel import attention_io, simulate_tiles


@settings(max_examples=80, deadline=None)
@given(length=st.integers(1, 2000), d=st.sampled_from([8, 64, 128]),
       block=st.sampled_from([1, 8, 16, 32]))
def test_paged_reads_at_least_contiguous_equal_on_block_multiples(length, d, block):
    m = 2 * d + 2 * 32 * d + 32 + 3
    cont = attention_io("decode", n=length, d=d, sram_elems=m)
    paged = attention_io("decode_paged", n=length, d=d, sram_elems=m, block_cols=block)
    pages = -(-length // block)
    assert paged.reads >= cont.reads
    assert paged.writes == cont.writes == d
    assert paged.index_bytes == 4 * pages
    if length % block == 0:
        assert paged.reads == cont.reads
        assert paged.io_bytes == cont.io_bytes + 4 * pages   # only the page table differs
    else:
        # the unused tail of the last block, for K and V
        assert paged.reads - cont.reads == 2 * (pages * block - length) * d


def test_contiguous_decode_reaches_the_trivial_bound():
    r = attention_io("decode", n=4096, d=128, sram_elems=65536, heads=8, batch=4)
    assert r.ratio == 1.0
    assert r.io_bytes == 2 * 32 * (128 + 2 * 4096 * 128 + 128)


def test_paged_block_must_fit():
    with pytest.raises(Exception, match="one KV block of 512 tokens"):
        attention_io("decode_paged", n=1000, d=128, sram_elems=65536, block_cols=512)


def test_paged_walk_counts_page_table_and_whole_blocks():
    r = simulate_tiles("decode_paged", n=33, d=4, sram_elems=1000, block_cols=16)
    assert (r.reads, r.index_bytes) == (4 + 2 * 3 * 16 * 4, 12)
    assert r.flops == 4 * 33 * 4                               # only valid tokens are computed
