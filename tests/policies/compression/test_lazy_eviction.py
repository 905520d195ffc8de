"""LazyEviction: evicts only every lag_steps steps and keeps tokens that recur after gaps."""
import numpy as np

from memsim.policies import create


def test_lagged_eviction_never_exceeds_budget_and_keeps_recurring(drive):
    P = 16
    prefill = np.full((1, 1, P), 0.5 / (P - 1))
    prefill[0, 0, 5] = 0.5                            # important in the prompt
    pol = drive.start(create("compression", {"name": "lazy_eviction", "lag_steps": 4}), prefill, budget=8)
    sizes = []
    for t in range(40):
        m = pol.plan(t, P + t)
        pol.check()
        sizes.append(int(m[0, 0].sum()))
        w = {5: 0.6} if t % 10 < 2 else {}          # token 5 recurs every 10 steps
        row = drive.row(P + t, w) * m
        pol.observe(t, row / row.sum())
    assert max(sizes) <= 8
    assert sizes[0] == 4                              # evicted to budget - lag at step 0
    assert m[0, 0, 5], "the recurring token survived its quiet gaps"
