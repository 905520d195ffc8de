"""The event-level tile walk and the closed form agree exactly, everywhere we look."""
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.ground.errors import ConfigError
from memsim.sim.kernel import attention_io, simulate_tiles

SELF = ["naive", "flash1", "flash2", "small_m", "chunked"]
DECODE = ["decode", "decode_paged"]

# n includes primes and sizes that no block divides; M spans below and above d^2.
GRID = list(itertools.product([1, 7, 33, 64, 100, 257], [1, 4, 16, 48], [64, 300, 1024, 5000]))


def _pair(algo, **kw):
    try:
        a = attention_io(algo, **kw)
    except ConfigError:
        with pytest.raises(ConfigError):
            simulate_tiles(algo, **kw)
        return None
    b = simulate_tiles(algo, **kw)
    return a, b


@pytest.mark.parametrize("algo", SELF + DECODE)
def test_default_tiles_closed_form_equals_event_level(algo):
    checked = 0
    for n, d, m in GRID:
        got = _pair(algo, n=n, d=d, sram_elems=m)
        if got is None:
            continue
        a, b = got
        assert a == b, (algo, n, d, m)                     # every field, incl. peak and flops
        assert a.peak_sram_elems <= m
        checked += 1
    assert checked >= 20                                   # the grid really exercised it


@pytest.mark.parametrize("algo", SELF)
def test_given_tiles_closed_form_equals_event_level(algo):
    for n, br, bc in itertools.product([5, 31, 96], [1, 3, 8, 40], [1, 2, 7, 64]):
        got = _pair(algo, n=n, d=8, sram_elems=20_000, block_rows=br, block_cols=bc)
        assert got is not None
        assert got[0] == got[1], (algo, n, br, bc)


@settings(max_examples=60, deadline=None)
@given(algo=st.sampled_from(SELF + DECODE), n=st.integers(1, 90), d=st.integers(1, 24),
       m=st.integers(1, 3000), br=st.one_of(st.none(), st.integers(1, 40)),
       bc=st.one_of(st.none(), st.integers(1, 40)))
def test_property_equal_counts_and_peak_within_m(algo, n, d, m, br, bc):
    try:
        a = attention_io(algo, n=n, d=d, sram_elems=m, block_rows=br, block_cols=bc)
    except ConfigError:
        return
    # The walk asserts on every allocation that the buffers fit in M.
    b = simulate_tiles(algo, n=n, d=d, sram_elems=m, block_rows=br, block_cols=bc)
    assert a.counts() == b.counts()
    assert b.peak_sram_elems <= m


@pytest.mark.parametrize("algo", SELF + DECODE)
def test_heads_and_batch_multiply(algo):
    one = attention_io(algo, n=100, d=16, sram_elems=4096)
    many = attention_io(algo, n=100, d=16, sram_elems=4096, heads=3, batch=5)
    assert many.reads == 15 * one.reads and many.writes == 15 * one.writes
    assert many.lower_bound == pytest.approx(15 * one.lower_bound)
    assert many.ratio == pytest.approx(one.ratio)
    assert many.peak_sram_elems == one.peak_sram_elems     # per SM, not per problem
    assert many == simulate_tiles(algo, n=100, d=16, sram_elems=4096, heads=3, batch=5)


def test_walk_flops_equal_matmul_flops():
    for algo in SELF:
        r = simulate_tiles(algo, n=77, d=12, sram_elems=2000)
        assert r.flops == 4 * 77 * 77 * 12
    assert simulate_tiles("decode_paged", n=77, d=12, sram_elems=2000).flops == 4 * 77 * 12


def test_io_bytes_and_ratio():
    r = attention_io("flash2", n=256, d=32, sram_elems=4096, dtype_bytes=4)
    assert r.io == r.reads + r.writes
    assert r.io_bytes == 4 * r.io
    assert r.ratio == r.io / r.lower_bound
    p = attention_io("decode_paged", n=100, d=8, sram_elems=4096, block_cols=16)
    assert p.io_bytes == 2 * p.io + 7 * 4                   # 7 page-table int32 entries


def test_bad_arguments():
    with pytest.raises(ConfigError, match="n=0"):
        attention_io("flash2", n=0, d=8, sram_elems=100)
    with pytest.raises(ConfigError, match="d=1.5"):
        attention_io("flash2", n=8, d=1.5, sram_elems=100)
    with pytest.raises(ConfigError, match="unknown attention policy"):
        attention_io("flash9", n=8, d=8, sram_elems=100)
