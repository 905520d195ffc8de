"""Belady: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import Belady


def test_hand_worked_victims(drive):
    # C is never used again; then B (never again) over A (used at the end)
    victims, hits = drive('belady', "ABCADBEA", 3)
    assert "".join(victims) == "CB"
    assert hits == 3


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["belady"].items():
        assert replay(tiny_trace, "belady", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(Belady(capacity=7))
    assert r.startswith("Belady(") and "capacity=7" in r
