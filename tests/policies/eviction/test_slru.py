"""SLRU: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import SLRU


def test_hand_worked_victims(drive):
    # A's hit protects it; probationary keys go in LRU order
    victims, hits = drive('slru', "ABCADBEA", 3)
    assert "".join(victims) == "BCD"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["slru"].items():
        assert replay(tiny_trace, "slru", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(SLRU(capacity=7))
    assert r.startswith("SLRU(") and "capacity=7" in r
