"""TwoQ: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import TwoQ


def test_hand_worked_victims(drive):
    # Kin=1: A1in over its share loses A (to A1out);
    # A's ghost hit reclaims it into Am, pushing out B
    victims, hits = drive('2q', "ABCADBEA", 4)
    assert "".join(victims) == "AB"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["2q"].items():
        assert replay(tiny_trace, "2q", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(TwoQ(capacity=7))
    assert r.startswith("TwoQ(") and "capacity=7" in r
