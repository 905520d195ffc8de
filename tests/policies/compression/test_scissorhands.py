"""Scissorhands: tokens important often in the history window are kept (hand-worked)."""
import numpy as np

from memsim.policies import create


def test_hand_worked_sequence(drive):
    prefill = np.array([[[0.4, 0.05, 0.3, 0.05, 0.1, 0.1]]])   # above 1/6: tokens 0 and 2
    pol = drive.start(create("compression", {"name": "scissorhands", "history_steps": 2,
                                             "recent_tokens": 1}), prefill, budget=3)
    assert drive.kept(pol.plan(0, 6)) == [0, 2, 5]              # counts 0:1, 2:1; 5 is recent
    pol.observe(0, np.array([[[0, 0, 0.6, 0, 0, 0.4]]]))        # above 1/3: tokens 2 and 5
    # counts 0:1, 2:2, 5:1; the new token 6 is protected; the tie 0/5 keeps the older token
    assert drive.kept(pol.plan(1, 7)) == [0, 2, 6]
    pol.observe(1, np.array([[[0.5, 0, 0.5, 0, 0, 0, 0]]]))
    # the prefill step has left the 2-step history: counts 0:1, 2:2, 6:0
    assert drive.kept(pol.plan(2, 8)) == [0, 2, 7]
    pol.check()
    assert len(pol.hist) == 2
