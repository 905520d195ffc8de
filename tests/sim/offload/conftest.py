"""Shared fixtures: a platform and an OPT-6.7B-shaped model."""
from types import SimpleNamespace

import pytest

from hwmodels import load_platform


def opt_6_7b():
    """OPT-6.7B's published shape (HF config: 32 layers, d_model 4096, ffn 16384, fp16)."""
    try:
        from workloads.model import load_model
    except ImportError:
        load_model = None
    if load_model is not None:
        return load_model("opt-6.7b")
    layers, hidden, ffn, vocab = 32, 4096, 16384, 50272
    params = layers * (4 * hidden * hidden + 2 * hidden * ffn) + vocab * hidden + 2048 * hidden
    return SimpleNamespace(name="opt-6.7b", layers=layers, hidden=hidden, ffn=ffn, dtype_bytes=2,
                           weight_bytes=2 * params, kv_bytes_per_token=2 * layers * hidden * 2,
                           gated_ffn=False)


@pytest.fixture(scope="session")
def laptop():
    return load_platform("laptop_flash")


@pytest.fixture(scope="session")
def opt():
    return opt_6_7b()
