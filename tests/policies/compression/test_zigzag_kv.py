"""ZigZagKV: per-layer budgets follow how many tokens each layer needs."""
import numpy as np

from memsim.policies import create
from memsim.policies.compression._common import layer_uncertainty_budgets


def test_diffuse_layer_gets_more_budget_sum_preserved():
    P = 64
    sharp = np.zeros(P)
    sharp[:4] = 0.25
    diffuse = np.full(P, 1 / P)
    prefill = np.stack([np.stack([sharp, sharp]), np.stack([diffuse, diffuse])])
    b = layer_uncertainty_budgets(prefill, 16)
    assert b.sum() == 32 and b[1] > b[0] >= 4


def test_policy_uses_allocation(drive):
    P = 64
    prefill = np.stack([np.tile(np.r_[np.full(4, 0.25), np.zeros(P - 4)], (1, 1)),
                        np.tile(np.full(P, 1 / P), (1, 1))])
    pol = drive.start(create("compression", "zigzag_kv"), prefill, budget=16)
    m = pol.plan(0, P)
    assert m[0, 0].sum() < m[1, 0].sum() and m.sum() == 32
    pol.check()
