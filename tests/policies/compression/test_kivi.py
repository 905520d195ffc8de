"""KIVI byte arithmetic from first principles (Llama-3.1-8B: 32 layers, 8 KV heads, head_dim 128)."""
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create


def test_two_bit_bytes_per_token(llama8b):
    pol = create("compression", {"name": "kivi", "bits": 2, "group_size": 32, "residual_tokens": 128,
                                 "reference_context_tokens": 4096})
    # per layer, KV head and token: K and V each 128*2/8 = 32 B data + 128*4/32 = 16 B scale/zero
    q = 32 * 8 * 2 * (32 + 16)
    assert pol.quantized_bytes_per_token(llama8b) == q == 24576
    full = 131072
    assert pol.kv_bytes_per_token(llama8b) == pytest.approx(q + (full - q) * 128 / 4096)
    assert pol.context_bytes(llama8b, 100) == 100 * full          # all within the residual window
    assert pol.context_bytes(llama8b, 1000) == 128 * full + 872 * q


@pytest.mark.parametrize("bits, data", [(4, 64), (8, 128)])
def test_more_bits(llama8b, bits, data):
    pol = create("compression", {"name": "kivi", "bits": bits, "residual_tokens": 0})
    assert pol.kv_bytes_per_token(llama8b) == 32 * 8 * 2 * (data + 16)


def test_bad_bits():
    with pytest.raises(ConfigError, match="bits"):
        create("compression", {"name": "kivi", "bits": 3})


def test_every_token_attended(llama8b):
    import numpy as np
    pol = create("compression", "kivi")
    pol.start(prompt_tokens=4, layers=1, heads=2, budget_tokens=1, prefill=np.full((1, 2, 4), 0.25))
    m = pol.plan(0, 4)
    assert m.all()
    r, read, fetch = pol.step_bytes(llama8b, m, 4)
    assert r == read == 4 * 131072 and fetch == 0
