"""Bundling alone: every active neuron read each token, nothing cached."""
import numpy as np

from memsim.policies import create


def test_reads_exactly_the_active_neurons_every_token():
    pol = create("flash", "bundling")
    assert not pol.start(layers=2, neurons=5, neuron_bytes=4, ffn_budget_bytes=0).any()
    rng = np.random.default_rng(1)
    for _ in range(4):
        active = rng.random((2, 5)) < 0.4
        load, keep = pol.step(active)
        pol.check()
        assert np.array_equal(load, active) and load is not active
        assert not keep.any()
    assert pol.bundled and not pol.dense_compute
