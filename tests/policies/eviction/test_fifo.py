"""FIFO: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import FIFO


def test_hand_worked_victims(drive):
    # insertion order only: A goes first although it was just hit
    victims, hits = drive('fifo', "ABCADBEA", 3)
    assert "".join(victims) == "ABC"
    assert hits == 2


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["fifo"].items():
        assert replay(tiny_trace, "fifo", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(FIFO(capacity=7))
    assert r.startswith("FIFO(") and "capacity=7" in r
