"""TTL: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import TTL


def test_hand_worked_victims(drive):
    # with ttl_s=0 deadlines are the last access times: LRU order
    victims, hits = drive('ttl', "ABCADBEA", 3)
    assert "".join(victims) == "BCAD"
    assert hits == 1


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["ttl"].items():
        assert replay(tiny_trace, "ttl", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(TTL(capacity=7))
    assert r.startswith("TTL(") and "capacity=7" in r
