"""The fast-memory model: buffer accounting, overflow is a bug, and how steps are cut."""
import pytest

from memsim.sim.kernel import Sram


def test_counts_and_peak():
    m = Sram(capacity_elems=10)
    m.alloc("a", 4)
    m.alloc("b", 6)
    m.load("a", 4)
    m.free("b")
    m.alloc("c", 3)
    m.store("c", 2)
    assert (m.reads, m.writes, m.peak_elems, m.used_elems) == (4, 2, 10, 7)


@pytest.mark.parametrize("action", [
    lambda m: (m.alloc("a", 6), m.alloc("b", 5)),                 # over capacity
    lambda m: (m.alloc("a", 2), m.alloc("a", 2)),                 # same buffer twice
    lambda m: (m.alloc("a", 2), m.load("a", 3)),                  # more than the buffer holds
    lambda m: (m.alloc("a", 2), m.store("a", 0)),                 # empty transfer
])
def test_broken_walks_raise_assertion_errors(action):
    with pytest.raises((AssertionError, KeyError)):
        action(Sram(capacity_elems=10))


def test_load_of_an_unknown_buffer_is_a_bug():
    with pytest.raises(KeyError):
        Sram(capacity_elems=10).load("nope", 1)


def test_steps_are_loads_then_one_compute_then_stores():
    m = Sram(capacity_elems=100, record=True)
    m.phase("p0")
    m.alloc("x", 50)
    m.unit()
    m.store("x", 5)                 # a store before any compute opens its own step
    m.load("x", 10)
    m.load("x", 10)
    m.compute(7)
    m.store("x", 3)
    m.load("x", 4)                  # a load after a compute starts the next step
    m.compute(1)
    m.unit()
    m.compute(2)                    # a compute without loads is a step too
    m.phase("p1")
    m.unit()
    m.load_index(3, 4)
    m.load("x", 1)
    m.compute(0)
    s = m.steps
    assert s.phase == [0, 0, 0, 0, 1]
    assert s.unit == [0, 0, 0, 1, 0]
    assert s.load_elems == [0, 20, 4, 0, 1]
    assert s.flop == [0, 7, 1, 2, 0]
    assert s.store_elems == [5, 3, 0, 0, 0]
    assert s.index_bytes == [0, 0, 0, 0, 12]
    assert (m.reads, m.writes, m.flop, m.index_bytes) == (25, 8, 10, 12)
