"""Advice: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import Advice


def test_hand_worked_victims(drive):
    # perfect bits: C and D are marked safe (OPT drops them), so they go first
    victims, hits = drive('advice', "ABCADBEA", 3)
    assert "".join(victims) == "CD"
    assert hits == 3


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["advice"].items():
        assert replay(tiny_trace, "advice", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(Advice(capacity=7))
    assert r.startswith("Advice(") and "capacity=7" in r
