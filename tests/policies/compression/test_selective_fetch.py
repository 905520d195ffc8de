"""InfiniGen, SpeCache, ShadowKV: engine-facing bytes and token-level prediction."""
import numpy as np
import pytest

from memsim.policies import create


@pytest.mark.parametrize("name, unit", [("infinigen", 1.0), ("specache", 1.0), ("shadowkv", 0.5)])
def test_fetch_bytes_linear_in_top_k_with_misprediction_term(llama8b, name, unit):
    full = llama8b.kv_bytes_per_token
    for f in (0.05, 0.1, 0.2):
        pol = create("compression", {"name": name, "top_k_fraction": f, "prediction_accuracy": 0.8})
        assert pol.fetch_bytes_per_token(llama8b) == pytest.approx(f * unit * full * 1.2)
        resident = pol.kv_bytes_per_token(llama8b)
        assert 0 < resident < full
        assert pol.hbm_read_fraction(llama8b) == pytest.approx(
            (resident + pol.fetch_bytes_per_token(llama8b)) / resident)


def test_resident_formulas(llama8b):
    assert create("compression", "infinigen").kv_bytes_per_token(llama8b) == 0.3 * 131072 / 2
    # 1-bit copy: 128/8 = 16 B data + 16 B scale/zero per head, K and V
    assert create("compression", "specache").kv_bytes_per_token(llama8b) == 32 * 8 * 2 * 32
    # rank 160 + one 1024-wide landmark per 8 tokens, fp16, per layer
    assert create("compression", "shadowkv").kv_bytes_per_token(llama8b) == 32 * (160 * 2 + 1024 * 2 / 8)


def test_specache_without_noise_predicts_exactly():
    pol = create("compression", {"name": "specache", "score_noise_std": 0})
    pol.start(prompt_tokens=6, layers=1, heads=1, budget_tokens=2, prefill=np.full((1, 1, 6), 1 / 6))
    probs = np.array([[[0.1, 0.5, 0.05, 0.05, 0.25, 0.05]]])
    pol.peek(0, probs, np.random.default_rng(0))
    assert np.flatnonzero(pol.plan(0, 6)[0, 0]).tolist() == [1, 4]


def test_infinigen_predicts_from_previous_layer():
    pol = create("compression", "infinigen")
    pol.start(prompt_tokens=4, layers=2, heads=1, budget_tokens=1, prefill=np.full((2, 1, 4), 0.25))
    probs = np.array([[[0.7, 0.1, 0.1, 0.1]], [[0.1, 0.1, 0.7, 0.1]]])
    pol.peek(0, probs, np.random.default_rng(0))
    m = pol.plan(0, 4)
    assert np.flatnonzero(m[1, 0]).tolist() == [0]     # layer 1 speculated from layer 0's attention


def test_shadowkv_fetches_whole_chunks():
    pol = create("compression", {"name": "shadowkv", "chunk_tokens": 2})
    pol.start(prompt_tokens=6, layers=1, heads=1, budget_tokens=2, prefill=np.full((1, 1, 6), 1 / 6))
    pol.peek(0, np.array([[[0.05, 0.05, 0.3, 0.3, 0.2, 0.1]]]), np.random.default_rng(0))
    assert np.flatnonzero(pol.plan(0, 6)[0, 0]).tolist() == [2, 3]
