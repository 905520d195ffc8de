"""MiKV: H2O's heavy hitters at high precision, the rest at low precision."""
import numpy as np
import pytest

from memsim.policies import create


def test_bytes_mix_high_and_low(llama8b, drive):
    pol = create("compression", {"name": "mikv", "high_fraction": 0.25, "low_bits": 2})
    low = 32 * 8 * 2 * (32 + 16)
    assert pol.kv_bytes_per_token(llama8b) == pytest.approx(0.25 * 131072 + 0.75 * low)
    drive.start(pol, np.full((1, 2, 8), 1 / 8), budget=2)
    m = pol.plan(0, 8)
    assert m.all() and pol.high_precision.sum() == 4               # 2 per head
    r, _, _ = pol.step_bytes(llama8b, m, 8)
    assert r == pytest.approx((4 * 131072 + 12 * low) / 2)
