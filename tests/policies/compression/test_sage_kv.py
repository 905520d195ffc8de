"""SAGE-KV: the prompt selection is made once, from pooled prefill attention."""
import numpy as np

from memsim.policies import create


def test_selection_fixed_after_prefill(drive):
    prefill = np.full((1, 1, 20), 0.01)
    prefill[0, 0, 10] = 0.8
    pol = drive.start(create("compression", {"name": "sage_kv", "decode_fraction": 0.5, "pool_tokens": 1,
                                             "sink_tokens": 1}), prefill, budget=4)
    k0 = drive.kept(pol.plan(0, 20))
    assert 0 in k0 and 10 in k0 and 19 in k0 and len(k0) == 4
    for t in range(1, 6):
        pol.observe(t - 1, drive.row(19 + t, {3: 0.99}))   # later attention never changes the selection
        k = drive.kept(pol.plan(t, 20 + t))
        assert 0 in k and 10 in k and 3 not in k and (19 + t) in k
        pol.check()


def test_pooling_spreads_to_neighbours():
    from memsim.policies.compression.sage_kv import _max_pool
    x = np.array([[0.0, 0.0, 1.0, 0.0, 0.0]])
    assert _max_pool(x, 3).tolist() == [[0.0, 1.0, 1.0, 1.0, 0.0]]
