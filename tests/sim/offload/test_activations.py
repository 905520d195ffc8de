"""Activation traces: the Markov generator's statistics and the NumPy loader's checks."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError, TraceError
from memsim.sim.offload import load_activations, markov_rates, synthetic_activations


def test_markov_trace_has_rate_and_correlation():
    tr = synthetic_activations(tokens=30, layers=4, neurons=5000, activation_rate=0.08,
                               correlation=0.6, rng=np.random.default_rng(0))
    assert len(tr) == 30
    arr = np.stack(list(tr))
    assert arr.shape == (30, 4, 5000) and arr.dtype == bool
    assert arr.mean() == pytest.approx(0.08, rel=0.03)
    on = arr[:-1]
    stay = (arr[1:] & on).sum() / on.sum()
    assert stay == pytest.approx(0.6, rel=0.03)


def test_correlation_equal_to_rate_is_independent():
    stay, turn_on = markov_rates(0.2, 0.2)
    assert stay == pytest.approx(0.2) and turn_on == pytest.approx(0.2)


def test_impossible_correlation():
    with pytest.raises(ConfigError, match="correlation"):
        markov_rates(0.8, 0.1)
    with pytest.raises(ConfigError, match="activation_rate"):
        markov_rates(0.0, 0.5)


def test_bad_sizes():
    with pytest.raises(ConfigError, match="tokens"):
        synthetic_activations(tokens=0, layers=1, neurons=1, activation_rate=0.1,
                              correlation=0.5, rng=np.random.default_rng(0))


def test_load_npy_and_npz(tmp_path):
    arr = np.random.default_rng(2).random((3, 2, 7)) < 0.3
    np.save(tmp_path / "a.npy", arr)
    np.savez(tmp_path / "b.npz", active=arr.astype(np.uint8), other=np.zeros(2))
    a = load_activations(tmp_path / "a.npy", layers=2, neurons=7)
    b = load_activations(tmp_path / "b.npz", layers=2, neurons=7, tokens=2)
    assert np.array_equal(np.stack(list(a)), arr)
    assert len(b) == 2 and np.array_equal(b[1], arr[1])


def test_loader_errors(tmp_path):
    np.save(tmp_path / "shape.npy", np.zeros((3, 2, 6), dtype=bool))
    np.save(tmp_path / "vals.npy", np.full((3, 2, 7), 2, dtype=np.int8))
    np.savez(tmp_path / "keys.npz", x=np.zeros(1), y=np.zeros(1))
    (tmp_path / "junk.npy").write_text("not numpy")
    for name, match in [("shape.npy", "does not match"), ("vals.npy", "0/1"),
                        ("keys.npz", "no array named"), ("junk.npy", "not a NumPy"),
                        ("missing.npy", "not found")]:
        with pytest.raises(TraceError, match=match) as e:
            load_activations(tmp_path / name, layers=2, neurons=7)
        assert name in str(e.value)
