"""LFU: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import LFU


def test_hand_worked_victims(drive):
    # A has 2 accesses; among the count-1 keys the oldest in the bucket goes
    victims, hits = drive('lfu', "ABCADBEA", 3)
    assert "".join(victims) == "BCD"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["lfu"].items():
        assert replay(tiny_trace, "lfu", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(LFU(capacity=7))
    assert r.startswith("LFU(") and "capacity=7" in r
