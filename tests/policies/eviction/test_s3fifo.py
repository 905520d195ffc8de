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
