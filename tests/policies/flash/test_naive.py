"""Naive loading: keep what fits, stream the rest of every layer each token."""
import numpy as np
import pytest

from memsim.policies import create


def test_resident_count_fits_budget_with_one_layer_buffer():
    pol = create("flash", "naive")
    # 4 layers x 10 neurons x 8 B; budget 200 B -> 25 neurons: R*3 <= 25 - 10 -> R = 5
    init = pol.start(layers=4, neurons=10, neuron_bytes=8, ffn_budget_bytes=200)
    assert pol.resident_per_layer == 5
    assert init.sum() == 20 and init[:, :5].all()
    active = np.zeros((4, 10), dtype=bool)
    active[0, 1] = active[2, 7] = True
    load, keep = pol.step(active)
    pol.check()
    assert np.array_equal(load, ~init)          # every non-resident neuron, active or not
    assert np.array_equal(keep, init)
    assert pol.dense_compute and not pol.bundled
    resident_bytes = keep.sum() * 8
    buffer_bytes = load.sum(axis=1).max() * 8
    assert resident_bytes + buffer_bytes <= 200


def test_sparse_loads_only_active_non_resident():
    pol = create("flash", {"name": "naive", "sparse": True})
    init = pol.start(layers=2, neurons=10, neuron_bytes=1, ffn_budget_bytes=14)
    assert pol.resident_per_layer == 4 and not pol.dense_compute
    active = np.zeros((2, 10), dtype=bool)
    active[0, [1, 6]] = True
    active[1, 9] = True
    load, keep = pol.step(active)
    assert np.array_equal(load, active & ~init)
    assert load.sum() == 2


def test_budget_below_one_layer_keeps_nothing():
    pol = create("flash", "naive")
    init = pol.start(layers=3, neurons=10, neuron_bytes=1, ffn_budget_bytes=5)
    assert pol.resident_per_layer == 0 and not init.any()


def test_everything_fits():
    pol = create("flash", "naive")
    pol.start(layers=3, neurons=10, neuron_bytes=1, ffn_budget_bytes=1000)
    load, _ = pol.step(np.ones((3, 10), dtype=bool))
    assert pol.resident_per_layer == 10 and not load.any()


def test_bad_sparse():
    from memsim.ground.errors import ConfigError
    with pytest.raises(ConfigError):
        create("flash", {"name": "naive", "sparse": "yes"})
