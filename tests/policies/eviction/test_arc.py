"""ARC: a hand-worked sequence with its victims, and golden hit counts."""
from memsim.policies.eviction import ARC


def test_hand_worked_victims(drive):
    # B's ghost hit raises p to 1, so E's miss takes T2's A; A's B2 ghost hit lowers p to 0
    victims, hits = drive('arc', "ABCADBEA", 3)
    assert "".join(victims) == "BCAD"
    assert hits == 1


def test_golden_hits_on_tiny_trace(tiny_trace, goldens):
    from memsim.policies.replay import replay
    for cap, expected in goldens["arc"].items():
        assert replay(tiny_trace, "arc", int(cap), engine="python").hits == expected, cap


def test_repr_shows_parameters():
    r = repr(ARC(capacity=7))
    assert r.startswith("ARC(") and "capacity=7" in r
