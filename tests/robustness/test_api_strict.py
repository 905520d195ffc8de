"""The Python API as strict as the CLI: wrong types are memsim's own one-line error, naming the argument.

A notebook user calling ``memsim.run(123)``, ``memsim.replay("abc", ...)`` or assigning
``scenario.kv.block_tokens = -1`` gets a ``MemsimError`` (a ConfigError) whose message is
one line and names the argument or field, not a TypeError from inside NumPy or pydantic.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from robust_helpers import CASES, tiny_scenario

import memsim
from memsim.ground.errors import MemsimError

HYP = settings(max_examples=40, deadline=None)


def _fails(call, *needles):
    CASES["api"] += 1
    with pytest.raises(MemsimError) as e:
        call()
    msg = str(e.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    import yaml
    p = tmp_path_factory.mktemp("api") / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_scenario()))
    memsim.load_scenario(str(p))     # imports the engine once, outside any case
    return str(p)


RUN_ARGS = [
    ("scenario int", lambda f: memsim.run(123), "scenario"),
    ("scenario None", lambda f: memsim.run(None), "scenario"),
    ("scenario bytes", lambda f: memsim.run(b"x.yaml"), "scenario"),
    ("scenario list", lambda f: memsim.run([f]), "scenario"),
    ("overrides text", lambda f: memsim.run(f, overrides="kv.block_tokens=32"), "overrides"),
    ("overrides list", lambda f: memsim.run(f, overrides=["kv.block_tokens=32"]), "overrides"),
    ("overrides key int", lambda f: memsim.run(f, overrides={1: 2}), "overrides"),
    ("out int", lambda f: memsim.run(f, out=123), "out"),
    ("out bool", lambda f: memsim.run(f, out=True), "out"),
    ("out empty", lambda f: memsim.run(f, out=""), "out"),
    ("seed text", lambda f: memsim.run(f, seed="3"), "seed"),
    ("seed bool", lambda f: memsim.run(f, seed=True), "seed"),
    ("seed float", lambda f: memsim.run(f, seed=1.5), "seed"),
    ("seed negative", lambda f: memsim.run(f, seed=-1), "seed"),
    ("seed 2**70", lambda f: memsim.run(f, seed=2**70), "seed"),
    ("progress text", lambda f: memsim.run(f, progress="yes"), "progress"),
    ("load_scenario float", lambda f: memsim.load_scenario(3.5), "scenario"),
    ("load_scenario deep dict", lambda f: memsim.load_scenario(_deep_dict(3000)), "nested more than"),
    ("override value deep", lambda f: memsim.load_scenario(f, {"kv.block_tokens": _deep_list(3000)}),
     "kv.block_tokens", "nested more than"),
    ("compare int", lambda f: memsim.compare(5), "scenario"),
    ("load_sweep int", lambda f: memsim.load_sweep(5), "sweep"),
    ("run_sweep int", lambda f: memsim.run_sweep(5), "sweep"),
    ("open_workload int", lambda f: memsim.open_workload(5), "workload"),
    ("open_workload seed text", lambda f: memsim.open_workload(tiny_scenario()["workload"], seed="1"), "seed"),
    ("open_workload base_dir int", lambda f: memsim.open_workload(tiny_scenario()["workload"], base_dir=3),
     "base_dir"),
    ("policies.create 42", lambda f: memsim.policies.create("eviction", 42), "eviction", "int 42"),
    ("policies.create list", lambda f: memsim.policies.create("eviction", ["lru"]), "eviction"),
    ("policies.create kind int", lambda f: memsim.policies.create(5, "lru"), "kind"),
]


def _deep_dict(n):
    d = cur = {}
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]
    return d


def _deep_list(n):
    d = cur = []
    for _ in range(n):
        cur.append([])
        cur = cur[0]
    return d


@pytest.mark.parametrize("label,call,needles", [(c[0], c[1], c[2:]) for c in RUN_ARGS],
                         ids=[c[0] for c in RUN_ARGS])
def test_run_and_loaders_refuse_wrong_types(tiny_file, label, call, needles):
    _fails(lambda: call(tiny_file), *needles)


ASSIGN = [
    ("kv.block_tokens", -1), ("kv.block_tokens", "32"), ("kv.block_tokens", True), ("kv.block_tokens", 2.0),
    ("seed", "3"), ("seed", -5), ("workload", 5), ("scheduler.max_batch_size", 0),
    ("kv.memory_fraction", 1.5), ("kv.memory_fraction", float("nan")), ("engine.sample_interval", -1.0),
    ("kv.tiers", [1]), ("kv.bogus", 1), ("scheduler", None),
]


@pytest.mark.parametrize("path,value", ASSIGN, ids=[f"{p}={v!r}" for p, v in ASSIGN])
def test_assignment_is_validated_and_names_the_field(tiny_file, path, value):
    s = memsim.load_scenario(tiny_file)
    *parents, name = path.split(".")
    obj = s
    for p in parents:
        obj = getattr(obj, p)
    _fails(lambda: setattr(obj, name, value), path)


REPLAY = [
    ("ids int", lambda: memsim.replay(123, "lru", 4), "ids"),
    ("ids None", lambda: memsim.replay(None, "lru", 4), "ids"),
    ("ids text", lambda: memsim.replay("abc", "lru", 4), "ids"),
    ("ids empty", lambda: memsim.replay([], "lru", 4), "ids"),
    ("ids 2-D", lambda: memsim.replay([[1, 2], [3, 4]], "lru", 2), "ids"),
    ("ids floats", lambda: memsim.replay([1.5, 2.5], "lru", 4), "ids"),
    ("ids bools", lambda: memsim.replay([True, False], "lru", 4), "ids"),
    ("ids past 64 bits", lambda: memsim.replay([1, 2**70], "lru", 4), "ids[1]"),
    ("ids mixed", lambda: memsim.replay([1, "x"], "lru", 4), "ids"),
    ("capacity text", lambda: memsim.replay([1, 2], "lru", "4"), "capacity"),
    ("capacity bool", lambda: memsim.replay([1, 2], "lru", True), "capacity"),
    ("capacity 0", lambda: memsim.replay([1, 2], "lru", 0), "capacity"),
    ("capacity 2.5", lambda: memsim.replay([1, 2], "lru", 2.5), "capacity"),
    ("policy int", lambda: memsim.replay([1, 2], 5, 4), "eviction"),
    ("sizes floats", lambda: memsim.replay([1, 2], "lru", 4, sizes=[1.5, 2]), "sizes"),
    ("sizes length", lambda: memsim.replay([1, 2], "lru", 4, sizes=[1]), "sizes"),
    ("sizes zero", lambda: memsim.replay([1, 2], "lru", 4, sizes=[1, 0]), "sizes"),
    ("times nan", lambda: memsim.replay([1, 2], "lru", 4, times_s=[0, float("nan")]), "times_s"),
    ("mrc ids None", lambda: memsim.mrc(None, "lru", [1]), "ids"),
    ("mrc capacities text", lambda: memsim.mrc([1, 2, 3], "lru", "5"), "capacities"),
    ("mrc capacities negative", lambda: memsim.mrc([1, 2, 3], "lru", [-1, 2]), "capacities[0]"),
    ("mrc capacities repeated", lambda: memsim.mrc([1, 2, 3], "lru", [2, 2]), "twice"),
    ("mrc capacities empty", lambda: memsim.mrc([1, 2, 3], "lru", []), "capacities"),
    ("mrc workers -5", lambda: memsim.mrc([1, 2, 3], "fifo", [1, 2], workers=-5), "workers"),
    ("mrc workers 0 on lru", lambda: memsim.mrc([1, 2, 3], "lru", [1, 2], workers=0), "workers"),
    ("mrc workers text", lambda: memsim.mrc([1, 2, 3], "lru", [1], workers="2"), "workers"),
]


@pytest.mark.parametrize("label,call,needles", [(c[0], c[1], c[2:]) for c in REPLAY],
                         ids=[c[0] for c in REPLAY])
def test_replay_and_mrc_refuse_wrong_arguments(label, call, needles):
    _fails(call, *needles)


def test_good_calls_still_work():
    assert memsim.replay(np.array([1, 2, 1], np.uint64), "lru", 2).hits == 1
    assert memsim.replay([1, 2**64 - 1, 1, 2**64 - 1], "lru", 2).hits == 2   # uint64 hashes
    assert memsim.replay([-5, 3, -5], "fifo", 2.0).hits == 1                 # keys; 2.0 is whole
    rows = memsim.mrc([1, 2, 1, 3, 1], "lru", [1, 2, 3])
    assert [r["capacity"] for r in rows] == [1, 2, 3]


# ---- hypothesis: any value of the wrong kind ----------------------------------------------

NOT_A_SEQUENCE = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5), st.binary(max_size=5),
                           st.booleans(), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
NOT_A_CAPACITY = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.integers(max_value=0),
                           st.floats().filter(lambda x: not (x > 0 and x == int(x) if x == x and abs(x) != float("inf")
                                                             else False)),
                           st.lists(st.integers(1, 5), max_size=2))
NOT_A_SEED = st.one_of(st.booleans(), st.text(max_size=4), st.floats(), st.integers(max_value=-1),
                       st.integers(min_value=2**63), st.lists(st.integers(), max_size=1))


@HYP
@given(ids=NOT_A_SEQUENCE)
def test_any_non_sequence_of_ids_is_refused(ids):
    _fails(lambda: memsim.replay(ids, "lru", 4), "ids")


@HYP
@given(cap=NOT_A_CAPACITY)
def test_any_non_capacity_is_refused(cap):
    _fails(lambda: memsim.replay([1, 2, 1], "lru", cap), "capacit")


@HYP
@given(seed=NOT_A_SEED)
def test_any_non_seed_is_refused(seed):
    _fails(lambda: memsim.load_scenario(tiny_scenario(), seed=seed), "seed")


@HYP
@given(ids=st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.integers(min_value=2**64),
                              st.integers(max_value=-(2**63) - 1)), min_size=1, max_size=5))
def test_any_list_with_a_non_id_is_refused(ids):
    _fails(lambda: memsim.mrc(ids, "lru", [1]), "ids")


@pytest.mark.parametrize("bad", [5, None, 3.5, True, ["runs/x"], {"a": 1}])
def test_load_result_refuses_a_non_path_in_one_line(bad):
    with pytest.raises(MemsimError, match="load_result takes a result folder's path"):
        memsim.load_result(bad)
