"""The cluster prefix index: per-replica longest cached prefix in one walk, kept in step with updates."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.sim.cluster.prefix_index import PrefixIndex


def test_hand_worked_match():
    ix = PrefixIndex(3)
    for h in (1, 2, 3):
        ix.add(0, h)
    for h in (1, 2):
        ix.add(1, h)
    ix.add(2, 2)                      # holds block 2 but not block 1: no prefix
    assert ix.matched_blocks((1, 2, 3, 4)) == [3, 2, 0]
    assert ix.matched_blocks((1, 2, 3)) == [3, 2, 0]
    assert ix.holders(2) == [0, 1, 2] and len(ix) == 3
    ix.remove(0, 2)                   # a hole: replica 0 now matches only block 1
    assert ix.matched_blocks((1, 2, 3)) == [1, 2, 0]
    assert ix.matched_blocks(()) == [0, 0, 0] and ix.matched_blocks(None) == [0, 0, 0]
    ix.check([{1, 3}, {1, 2}, {2}])


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 70), st.lists(st.tuples(st.booleans(), st.integers(0, 69), st.integers(0, 9)), max_size=120),
       st.lists(st.integers(0, 9), max_size=12))
def test_matches_a_walk_per_replica(n, ops, ids):
    ix = PrefixIndex(n)
    truth = [set() for _ in range(n)]
    for add, r, h in ops:
        r %= n
        (ix.add if add else ix.remove)(r, h)
        (truth[r].add if add else truth[r].discard)(h)
        ids_t = tuple(ids)
        expect = []
        for r2 in range(n):
            k = 0
            while k < len(ids_t) and ids_t[k] in truth[r2]:
                k += 1
            expect.append(k)
        assert ix.matched_blocks(ids_t) == expect
    ix.check(truth)
