"""Predictions from a hand-made host: each term worked out by hand."""
from __future__ import annotations

import pytest

from memsim.validate.levels import fit_level
from memsim.validate.predict import Predictor, overlapped

KiB, MiB = 1024, 1024 ** 2


def test_fit_level(cal):
    assert fit_level(32 * KiB, cal.levels).name == "l1"
    assert fit_level(32 * KiB + 1, cal.levels).name == "l2"
    assert fit_level(16 * 1024 * KiB, cal.levels).name == "l3"
    assert fit_level(10 ** 12, cal.levels).name == "dram"


def test_overlapped():
    assert overlapped(2.0, 1.0, 1.0) == 2.0          # roofline max
    assert overlapped(2.0, 1.0, 0.0) == 3.0          # no overlap: they add
    assert overlapped(1.0, 2.0, 0.5) == 2.5


def test_stream_and_chase(cal):
    p = Predictor(cal)
    s = p.stream(size_bytes=4 * MiB, passes=10)
    assert s.level == "l3" and s.time_s == pytest.approx(40 * MiB / 25e9)
    c = p.chase(size_bytes=8 * KiB, hops=1000)
    assert c.time_s == pytest.approx(1000 * 1e-9)
    assert p.chase(size_bytes=64 * MiB, hops=10).time_s == pytest.approx(10 * 100e-9)


def test_matmul_is_compute_bound_in_cache(cal):
    p = Predictor(cal).matmul(n=64, tile=16)
    assert p.level == "l2"                                 # 3 * 64^2 * 4 B = 48 KiB
    mem = (4 * 64 * 64 * 4) * 4 / 50e9
    comp = 2 * 64 ** 3 / 4e9
    assert p.time_s == pytest.approx(max(mem, comp) + 0.5 * min(mem, comp))


def test_tiled_attention_uses_simulator_counts(cal):
    pytest.importorskip("memsim.sim.kernel", reason="memsim.sim.kernel (attention I/O) not present")
    from memsim.sim.kernel import attention_io
    n, d, br, bc = 256, 32, 32, 16
    sram = 2 * br * d + 2 * bc * d + br * bc + 3 * br
    p = Predictor(cal).attention_tiled(n=n, d=d, block_rows=br, block_cols=bc, sram_elems=sram)
    r = attention_io("flash2", n=n, d=d, sram_elems=sram, block_rows=br, block_cols=bc, dtype_bytes=4)
    assert p.elems == r.reads + r.writes and p.accounting == "memsim.sim.kernel.attention_io"
    comp = 4 * n * n * d / 50e9 + n * n * 5e-9
    mem = (r.reads + r.writes) * 4 / 50e9                  # Q, K, V, O = 128 KiB -> l2
    assert p.level == "l2"
    assert p.time_s == pytest.approx(max(mem, comp) + 0.5 * min(mem, comp))


def test_paged_decode_pays_one_latency_per_block_jump(cal):
    from memsim.validate.predict import attention_counts
    pr = Predictor(cal)
    h, n, d = 2, 4096, 64
    pool = 2 * h * n * d * 4                               # 4 MiB -> l3 (overlap 1: roofline max)
    lat = 40e-9                                           # l3's latency
    comp = 4 * h * n * d / 40e9 + h * n * 4e-9
    for bt in (16, 512):
        reads, writes, index_bytes, _ = attention_counts(
            "decode_paged", n=n, d=d, heads=h, block_cols=bt, sram_elems=2 * d + 2 * bt * d + bt + 3)
        assert reads == h * (d + 2 * n * d)                # n is a multiple of bt: no padding
        mem = ((reads + writes) * 4 + index_bytes) / 25e9
        jumps = 2 * h * n // bt
        got = pr.paged_decode(heads=h, n=n, d=d, block_tokens=bt, pool_bytes=pool)
        assert got.level == "l3"
        assert got.time_s == pytest.approx(max(mem, comp) + jumps * lat)
    assert pr.paged_decode(heads=h, n=n, d=d, block_tokens=16, pool_bytes=pool).time_s > \
        pr.decode(heads=h, n=n, d=d).time_s


def test_naive_attention_has_three_phases(cal):
    n, d = 128, 32
    p = Predictor(cal).attention_naive(n=n, d=d)
    s, qkv = n * n * 4, n * d * 4
    assert p.level == "l2"
    phases = [(s + 2 * qkv, 2 * n * n * d / 50e9), (5 * s, n * n * 5e-9), (s + 2 * qkv, 2 * n * n * d / 50e9)]
    assert p.time_s == pytest.approx(sum(overlapped(b / 50e9, c, 0.5) for b, c in phases))
