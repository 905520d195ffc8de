"""Windowing and windowing_bundling: a hand-worked sequence on one 6-neuron layer."""
import numpy as np
import pytest

from memsim.policies import create, describe, names


def m(*bits):
    return np.array([bits], dtype=bool)


SEQ = [m(1, 1, 0, 0, 0, 0), m(0, 1, 1, 0, 0, 0), m(0, 0, 0, 1, 0, 0), m(0, 0, 1, 1, 0, 0),
       m(1, 0, 0, 0, 0, 1)]
# window 2: keep = active(t) | active(t-1); load = active(t) & ~keep(t-1)
EXPECT = [  # (load, keep)
    (m(1, 1, 0, 0, 0, 0), m(1, 1, 0, 0, 0, 0)),
    (m(0, 0, 1, 0, 0, 0), m(1, 1, 1, 0, 0, 0)),
    (m(0, 0, 0, 1, 0, 0), m(0, 1, 1, 1, 0, 0)),
    (m(0, 0, 0, 0, 0, 0), m(0, 0, 1, 1, 0, 0)),
    (m(1, 0, 0, 0, 0, 1), m(1, 0, 1, 1, 0, 1)),
]


@pytest.mark.parametrize("name", ["windowing", "windowing_bundling"])
def test_hand_worked_window_of_two(name):
    pol = create("flash", {"name": name, "window": 2})
    init = pol.start(layers=1, neurons=6, neuron_bytes=100, ffn_budget_bytes=10_000)
    assert not init.any()
    for active, (load, keep) in zip(SEQ, EXPECT):
        got_load, got_keep = pol.step(active)
        pol.check()
        assert np.array_equal(got_load, load)
        assert np.array_equal(got_keep, keep)
    assert pol.bundled == (name == "windowing_bundling")
    assert not pol.dense_compute


def test_window_one_keeps_only_current_token():
    pol = create("flash", {"name": "windowing", "window": 1})
    pol.start(layers=1, neurons=6, neuron_bytes=1, ffn_budget_bytes=6)
    pol.step(SEQ[0])
    load, keep = pol.step(SEQ[1])
    assert np.array_equal(keep, SEQ[1]) and np.array_equal(load, m(0, 0, 1, 0, 0, 0))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_window(bad):
    from memsim.ground.errors import ConfigError
    with pytest.raises(ConfigError, match="window"):
        create("flash", {"name": "windowing", "window": bad})


def test_registered_with_paper():
    assert {"naive", "windowing", "bundling", "windowing_bundling"} <= set(names("flash"))
    rows = [r for r in describe() if r["kind"] == "flash"]
    assert rows and all("LLM in a flash" in r["paper"] for r in rows)
    assert repr(create("flash", {"name": "windowing_bundling", "window": 3})) == \
        "WindowingBundling(window=3)"
