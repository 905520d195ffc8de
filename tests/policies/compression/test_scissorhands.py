"""Scissorhands: tokens important often in the history window are kept."""
import numpy as np

from policies import create


def test_persistently_important_token_kept(drive):
    prefill = np.full((1, 1, 8), 1 / 8)
    pol = drive.start(create("compression", {"name": "scissorhands", "history_steps": 4,
                                             "recent_tokens": 1}), prefill, budget=3)
    first = pol.plan(0, 8)
    assert first[0, 0].sum() == 3 and first[0, 0, 7]
    for t in range(1, 4):
        pol.observe(t - 1, drive.row(7 + t, {2: 0.5, 4: 0.4}) * pol.resident[..., :7 + t]
                    / (drive.row(7 + t, {2: 0.5, 4: 0.4}) * pol.resident[..., :7 + t]).sum())
        m = pol.plan(t, 8 + t)
        pol.check()
    # after the ties at step 0, only tokens the model still sees can be counted
    assert m[0, 0, -1] and m[0, 0].sum() == 3


def test_counts_only_history_window():
    pol = create("compression", {"name": "scissorhands", "history_steps": 2})
    pol.start(prompt_tokens=4, layers=1, heads=1, budget_tokens=2, prefill=np.full((1, 1, 4), 0.25))
    for t in range(5):
        pol.plan(t, 4 + t)
        pol.observe(t, np.full((1, 1, 4 + t), 1.0 / (4 + t)))
    assert len(pol.hist) == 2
