"""The asymptotics the I/O-complexity paper states, reproduced by the counters.

FlashAttention tracks n^2 d^2 / M for d^2 <= M <= n d (log-log slope -1 in M);
the small-M algorithm tracks n^2 d / sqrt(M) below d^2 (slope -1/2) and beats
FlashAttention there; naive attention moves Theta(n^2) elements (slope 2 in n).
"""
import numpy as np
import pytest

from memsim.sim.kernel import attention_io, lower_bound, sweep

SIZES = [(2048, 32), (1024, 64), (512, 16)]


def _slope(x, y):
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def _pow2(lo, hi):
    return [2 ** k for k in range(40) if lo <= 2 ** k <= hi]


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("algo", ["flash1", "flash2"])
def test_flash_attention_tracks_n2d2_over_m(algo, n, d):
    ms = _pow2(d * d, n * d)
    df = sweep(n, d, ms, [algo])
    assert list(df["m_elems"]) == ms                          # runs at every M in the range
    assert _slope(df["m_elems"], df["io"]) == pytest.approx(-1.0, abs=0.06)
    c = df["io"] * df["m_elems"] / (n * n * d * d)            # io / (n^2 d^2 / M)
    assert c.max() / c.min() < 1.5                            # a constant factor
    assert (df["ratio"] >= 1).all()


@pytest.mark.parametrize("n,d", SIZES)
def test_small_m_tracks_n2d_over_sqrt_m_and_beats_flash(n, d):
    ms = _pow2(32, d * d - 1)                                # below ~32, b^2 + 3b <= M rounds hard
    df = sweep(n, d, ms, ["small_m", "flash1", "flash2"])
    sm = df[df.algo == "small_m"]
    assert len(sm) >= 3
    assert _slope(sm["m_elems"], sm["io"]) == pytest.approx(-0.5, abs=0.06)
    c = sm["io"] * np.sqrt(sm["m_elems"]) / (n * n * d)       # io / (n^2 d / sqrt(M))
    assert c.max() / c.min() < 1.5
    wide = df.pivot(index="m_elems", columns="algo", values="io").dropna()
    assert len(wide) >= 1
    assert (wide["small_m"] < wide["flash1"]).all()
    assert (wide["small_m"] < wide["flash2"]).all()


def test_small_m_ratio_is_bounded_where_it_is_optimal():
    n, d = 1024, 64
    for m in _pow2(32, d * d - 1):
        r = attention_io("small_m", n=n, d=d, sram_elems=m)
        assert 1 <= r.ratio < 7, (m, r.ratio)


@pytest.mark.parametrize("d,m", [(16, 8192), (64, 16384), (64, 1024)])
def test_naive_is_theta_n_squared(d, m):
    ns = [256, 512, 1024, 2048, 4096]
    io = [attention_io("naive", n=n, d=d, sram_elems=m).io for n in ns]
    assert _slope(ns, io) == pytest.approx(2.0, abs=0.05)
    # It moves at least the 2 n^2 elements of writing S and P, whatever M is.
    assert all(x >= 2 * n * n for x, n in zip(io, ns))


def test_flash_beats_naive_once_m_is_large():
    n, d = 2048, 64
    for m in _pow2(4 * d * d, n * d):
        assert attention_io("flash2", n=n, d=d, sram_elems=m).io < \
            attention_io("naive", n=n, d=d, sram_elems=m).io


def test_no_algorithm_goes_below_the_lower_bound():
    n, d = 512, 32
    df = sweep(n, d, _pow2(8, 4 * n * d), ["naive", "flash1", "flash2", "small_m", "chunked"])
    assert len(df) > 40
    assert (df["io"] >= df["lower_bound"]).all()
    assert (df["lower_bound"] == [lower_bound(n, d, m) for m in df["m_elems"]]).all()
