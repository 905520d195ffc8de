"""PagedEviction: whole blocks go, the sink and filling blocks stay."""
import numpy as np

from memsim.policies import create


def test_whole_blocks_evicted(drive):
    prefill = np.full((1, 1, 16), 0.01)
    prefill[0, 0, 4:8] = 0.2                          # block 1 (tokens 4-7) is hot
    pol = drive.start(create("compression", {"name": "paged_eviction", "block_tokens": 4}), prefill,
                      budget=12)
    k = drive.kept(pol.plan(0, 16))
    assert k == [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]   # block 2 (8-11) had the least attention
    pol.check()
    m = pol.plan(1, 17)
    pol.check()
    kept_blocks = {i // 4 for i in drive.kept(m)}
    for b in kept_blocks - {4}:
        assert all(m[0, 0, b * 4:(b + 1) * 4]), "a partly evicted block"
