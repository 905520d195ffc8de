"""LRU: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import LRU


def test_hand_worked_victims(drive):
    # the least recently used of the three goes: B (A was re-used), then C, A, D
    victims, hits = drive('lru', "ABCADBEA", 3)
    assert "".join(victims) == "BCAD"
    assert hits == 1


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["lru"].items():
        assert replay(tiny_trace, "lru", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(LRU(capacity=7))
    assert r.startswith("LRU(") and "capacity=7" in r
