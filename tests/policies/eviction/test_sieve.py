"""Sieve: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import Sieve


def test_hand_worked_victims(drive):
    # the hand clears A's visited bit and takes B, then moves on to C and D; A survives
    victims, hits = drive('sieve', "ABCADBEA", 3)
    assert "".join(victims) == "BCD"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["sieve"].items():
        assert replay(tiny_trace, "sieve", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(Sieve(capacity=7))
    assert r.startswith("Sieve(") and "capacity=7" in r
