"""S3FIFO: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import S3FIFO


def test_hand_worked_victims(drive):
    # small=2: C and D go to main while small is full before the first eviction;
    # A (1 hit < 2) leaves small for the ghost; A's ghost hit sends it to main;
    # F's miss finds main over its share and evicts C (no hits)
    victims, hits = drive({'name': 's3fifo', 'small_fraction': 0.5}, "ABCADBEAF", 4)
    assert "".join(victims) == "ABC"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["s3fifo"].items():
        assert replay(tiny_trace, "s3fifo", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(S3FIFO(capacity=7))
    assert r.startswith("S3FIFO(") and "capacity=7" in r


def test_victim_moved_to_main_by_the_same_scan_leaves_main_without_a_ghost():
    """Every key hit twice: the scan moves all of small to main, every main key has a
    frequency to spend, so the victim is the first key just moved (found by the tier
    agreement runs: KeyError in on_remove).  It leaves main, no ghost; the kernel agrees."""
    import numpy as np

    from memsim.policies.replay import replay, replay_python
    cap = 20
    ids = np.array(list(range(cap)) * 3 + [cap])
    pol = S3FIFO(capacity=cap)
    hit, evicted = np.zeros(len(ids), np.uint8), []
    replay_python(pol, ids, np.ones(len(ids), np.int64), cap, hit, check_every=1, evicted=evicted)
    assert evicted == [(3 * cap, 0)] and 0 not in pol._ghost
    longer = np.concatenate([ids, [cap + 1, 0, 1]])
    hit = np.zeros(len(longer), np.uint8)
    replay_python(S3FIFO(capacity=cap), longer, np.ones(len(longer), np.int64), cap, hit, check_every=1)
    assert (replay(longer, "s3fifo", cap, keep_hits=True).hit == hit).all()
