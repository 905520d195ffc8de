"""Clock: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import Clock


def test_hand_worked_victims(drive):
    # A's bit buys it one lap (cleared, moved to the newest end); B is the first zero
    victims, hits = drive('clock', "ABCADBEA", 3)
    assert "".join(victims) == "BCAD"
    assert hits == 1


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["clock"].items():
        assert replay(tiny_trace, "clock", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(Clock(capacity=7))
    assert r.startswith("Clock(") and "capacity=7" in r
