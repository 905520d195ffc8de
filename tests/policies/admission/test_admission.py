"""Admission filters: always, second_hit (bounded doorkeeper), size_threshold."""
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create
from memsim.policies.admission import Admission, Always, SecondHit, SizeThreshold


def test_always_admits():
    a = Always()
    assert isinstance(a, Admission) and a.admit("x", 10**9, 0.0)


def test_second_hit_admits_on_the_second_miss_only():
    a = SecondHit(history=2)
    assert [a.admit(k, 1, 0.0) for k in "aab"] == [False, True, False]
    assert a.admit("a", 1, 0.0) is False          # forgotten after admission: starts over


def test_second_hit_history_is_bounded_fifo():
    a = SecondHit(history=2)
    for k in "abc":                                 # "a" falls out of the history
        assert not a.admit(k, 1, 0.0)
    assert not a.admit("a", 1, 0.0)
    assert a.admit("c", 1, 0.0)
    assert repr(a) == "SecondHit(history=2)"


def test_size_threshold_absolute_and_fraction():
    assert SizeThreshold(max_size=4).admit("k", 4, 0.0)
    assert not SizeThreshold(max_size=4).admit("k", 5, 0.0)
    a = create("admission", {"name": "size_threshold", "max_fraction": 0.25}, capacity=40)
    assert a.max_size == 10


@pytest.mark.parametrize("spec", [
    {"name": "second_hit", "history": 0},
    {"name": "size_threshold", "max_size": 3, "max_fraction": 0.1},
    {"name": "size_threshold", "max_fraction": 3},
])
def test_bad_parameters(spec):
    with pytest.raises(ConfigError):
        create("admission", spec, capacity=10)


def test_fraction_without_capacity_is_a_clear_error():
    with pytest.raises(ConfigError, match="capacity"):
        SizeThreshold(max_fraction=0.1)
