"""Full cache: everything resident, full bytes."""
import numpy as np

from memsim.policies import create


def test_everything_kept(drive, llama8b):
    pol = drive.start(create("compression", "full"), np.full((2, 2, 5), 0.2), budget=1)
    m = pol.plan(3, 8)
    assert m.all() and m.shape == (2, 2, 8)
    assert pol.step_bytes(llama8b, m, 8) == (8 * 131072, 8 * 131072, 0.0)
    assert pol.kv_bytes_per_token(llama8b) == llama8b.kv_bytes_per_token
