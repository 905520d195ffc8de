"""The attention-score source: synthetic structure, determinism, and the .npz loader."""
from __future__ import annotations

import numpy as np
import pytest

from memsim.ground.errors import TraceError
from memsim.workloads.attention_scores import AttentionScores, load_scores, save_scores, synthetic_scores

SMALL = dict(prompt_tokens=128, steps=24, layers=2, heads=3)


def _src(seed=0, **kw):
    return synthetic_scores(rng=np.random.default_rng(seed), **{**SMALL, **kw})


def test_rows_are_distributions_over_the_causal_context():
    s = _src()
    assert s.probs.shape == (24, 2, 3, 128 + 24)
    for t in range(s.steps):
        c = s.context_tokens(t)
        assert np.allclose(s.row(t).sum(-1), 1.0, atol=1e-5)
        assert np.all(s.probs[t, :, :, c:] == 0)
    assert s.prefill.shape == (2, 3, 128) and np.allclose(s.prefill.sum(-1), 1.0, atol=1e-5)


def test_same_seed_same_scores_other_seed_differs():
    assert np.array_equal(_src(3).probs, _src(3).probs)
    assert not np.array_equal(_src(3).probs, _src(4).probs)


def test_sinks_and_recency_get_more_than_a_uniform_share():
    s = _src(recurring_tokens=0, heavy_fraction=0.0)
    row = s.row(10)
    c = row.shape[-1]
    assert row[..., :4].sum(-1).mean() > 3 * 4 / c
    assert row[..., -8:].sum(-1).mean() > 3 * 8 / c


def test_recurring_tokens_are_quiet_then_burst():
    s = _src(recurring_tokens=4, heavy_fraction=0.0, recurring_period_steps=12, recurring_burst_steps=3,
             steps=24, recency_tokens=8)
    far = s.probs[:, :, :, 4:128 - 4 * 8]           # where recurring tokens are placed
    peak = far.max(axis=0)                            # (layers, heads, tokens)
    low = far.min(axis=0)
    # some far token per head has a step with > 20x its quietest attention
    assert np.all((peak / np.maximum(low, 1e-12)).max(-1) > 20)


def test_save_load_round_trip(tmp_path):
    s = _src()
    path = tmp_path / "a.npz"
    save_scores(s, path)
    back = load_scores(path)
    assert back.prompt_tokens == s.prompt_tokens
    assert np.allclose(back.probs, s.probs, atol=1e-6)
    assert np.allclose(back.prefill, s.prefill, atol=1e-6)


def test_load_single_layer_and_derive_prefill(tmp_path):
    s = _src(layers=1)
    path = tmp_path / "b.npz"
    np.savez(path, scores=s.probs[:, 0], prompt_tokens=np.int64(s.prompt_tokens))
    back = load_scores(path)
    assert back.layers == 1 and back.heads == 3
    assert np.allclose(back.prefill, s.probs[0, :, :, :128] / s.probs[0, :, :, :128].sum(-1, keepdims=True))


@pytest.mark.parametrize("case, message", [
    ("missing", "missing array 'prompt_tokens'"),
    ("beyond", "beyond the"),
    ("unnormalised", "not 1"),
    ("short", "token columns"),
    ("negative", "negative"),
    ("prefill", "prefill has shape"),
])
def test_bad_dumps_name_the_file(tmp_path, case, message):
    s = _src()
    probs, arrays = s.probs.copy(), {"prompt_tokens": np.int64(128)}
    if case == "missing":
        arrays = {}
    elif case == "beyond":
        probs[2, 0, 0, 140] = 0.5
    elif case == "unnormalised":
        probs[1] *= 0.5
    elif case == "short":
        probs = probs[..., :100]
    elif case == "negative":
        probs[0, 0, 0, 0] = -1
    elif case == "prefill":
        arrays["prefill"] = np.ones((2, 3, 5))
    path = tmp_path / "bad.npz"
    np.savez(path, scores=probs, **arrays)
    with pytest.raises(TraceError, match=message) as e:
        load_scores(path)
    assert "bad.npz" in str(e.value)


def test_missing_file_and_not_npz(tmp_path):
    with pytest.raises(TraceError, match="no such file"):
        load_scores(tmp_path / "none.npz")
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(TraceError, match="x.npz"):
        load_scores(p)


def test_dataclass_accessors():
    s = AttentionScores(probs=np.zeros((2, 1, 1, 5), dtype=np.float32), prompt_tokens=4,
                        prefill=np.ones((1, 1, 4)) / 4)
    assert (s.steps, s.layers, s.heads, s.context_tokens(1)) == (2, 1, 1, 5)
