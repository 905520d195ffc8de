"""The lower bound: its two regimes, the trivial floor, continuity at M = d^2."""
import math

import pytest

from memsim.ground.errors import ConfigError
from memsim.sim.kernel import lower_bound, trivial_bound


def test_large_m_regime():
    # n=4096, d=64, M=16384 >= d^2: n^2 d^2 / M = 4096^2 * 4096 / 16384 = 4194304
    assert lower_bound(4096, 64, 16384) == 4194304.0


def test_small_m_regime():
    # M=1024 < d^2=4096: n^2 d / sqrt(M) = 4096^2 * 64 / 32 = 33554432
    assert lower_bound(4096, 64, 1024) == 33554432.0


def test_trivial_floor_when_m_is_huge():
    assert lower_bound(1000, 64, 10 ** 9) == 4 * 1000 * 64
    assert trivial_bound(1000, 64) == 256000


def test_continuous_at_d_squared():
    n, d = 8192, 32
    below = lower_bound(n, d, d * d - 1)
    at = lower_bound(n, d, d * d)
    assert at == n * n
    assert below == pytest.approx(n * n * d / math.sqrt(d * d - 1))
    assert abs(below - at) / at < 1e-3


def test_decode_has_the_trivial_bound_and_heads_multiply():
    assert lower_bound(100, 8, 64, decode=True) == 2 * 100 * 8 + 2 * 8
    assert lower_bound(100, 8, 64, heads=4, batch=2) == 8 * lower_bound(100, 8, 64)


def test_bad_input():
    with pytest.raises(ConfigError, match="sram_elems"):
        lower_bound(10, 8, 0)
