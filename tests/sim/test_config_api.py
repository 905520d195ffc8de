"""The Python API is as strict as the CLI: bad arguments and bad assignments are ConfigErrors
naming the argument or the field; loaded scenarios round-trip through overrides."""
from __future__ import annotations

from pathlib import Path

import pytest

import memsim
from memsim.ground.errors import ConfigError
from memsim.sim import engine

QUICK = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.mark.parametrize("args,kwargs,message", [
    ((123,), {}, "scenario: expected a scenario file path, a shipped scenario name, a dict "
                 "or a loaded scenario, got int 123"),
    ((None,), {}, "scenario: expected a scenario file path, a shipped scenario name, a dict "
                  "or a loaded scenario, got NoneType None"),
    ((True,), {}, "scenario: expected"),
    (("",), {}, "scenario: expected a scenario file path or name, got ''"),
    ((QUICK,), {"overrides": "kv.block_tokens=32"}, "overrides: expected a mapping"),
    ((QUICK,), {"overrides": ["kv.block_tokens=32"]}, "overrides: expected a mapping"),
    ((QUICK,), {"overrides": {"kv..x": 1}}, "overrides: 'kv..x' is not a dotted field path"),
    ((QUICK,), {"seed": "3"}, "seed: expected a non-negative integer, got str '3'"),
    ((QUICK,), {"seed": True}, "seed: expected a non-negative integer, got bool True"),
    ((QUICK,), {"seed": -1}, "seed: -1 must be in 0..2**63-1"),
    ((QUICK,), {"seed": 2**64}, "seed: 18446744073709551616 must be in 0..2**63-1"),
    ((QUICK,), {"seed": 3.0}, "seed: expected a non-negative integer, got float 3.0"),
])
def test_load_scenario_arguments(args, kwargs, message):
    for load in (memsim.load_scenario, memsim.sim.config.load_scenario):
        with pytest.raises(ConfigError) as e:
            load(*args, **kwargs)
        assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("kwargs,message", [
    ({"out": 123}, "out: expected a folder path (str or pathlib.Path), got int 123"),
    ({"out": ""}, "out: expected a folder path"),
    ({"out": True}, "out: expected a folder path"),
    ({"progress": "yes"}, "progress: expected true or false, got str 'yes'"),
    ({"progress": 1}, "progress: expected true or false, got int 1"),
    ({"seed": "3"}, "seed: expected a non-negative integer"),
    ({"overrides": "kv.block_tokens=32"}, "overrides: expected a mapping"),
])
def test_run_arguments_fail_before_anything_runs(monkeypatch, kwargs, message):
    def no_engine(*a, **k):
        raise AssertionError("the engine was built")
    monkeypatch.setattr(engine, "Engine", no_engine)
    for run in (memsim.run, engine.run):
        with pytest.raises(ConfigError) as e:
            run(QUICK, **kwargs)
        assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize("path,value,message", [
    ("kv.block_tokens", -1, "kv.block_tokens: Input should be greater than or equal to 1"),
    ("kv.block_tokens", True, "kv.block_tokens: Input should be a valid integer, not a boolean"),
    ("kv.block_tokens", "32", "kv.block_tokens: Input should be a valid integer (got '32', "
                              "which is text: remove the quotes)"),
    ("kv.activation_reserve", 5, "kv.activation_reserve: 5 has no unit"),
    ("kv.memory_fraction", float("nan"), "kv.memory_fraction: Input should be a finite number"),
    ("kv.prefix_cache.enabled", "yes", "kv.prefix_cache.enabled: Input should be a valid boolean"),
    ("kv.prefix_cache.eviction", {"name": "s3fifo", "small_fraction": 2},
     "kv.prefix_cache.eviction.small_fraction: small_fraction=2 must be in [0, 1]"),
    ("scheduler.max_batch_size", 2**70, "scheduler.max_batch_size: 1180591620717411303424 does "
                                        "not fit in a 64-bit integer"),
    ("workload.arrivals.rate", "3 GiB", "workload.arrivals.rate: '3 GiB' is a size"),
    ("engine.sample_interval", "0 s", "engine.sample_interval: must be > 0"),
    ("parallelism.tpp", 2, "parallelism.tpp: unknown key (did you mean 'tp'?)"),
    ("seed", "3", "seed: Input should be a valid integer"),
])
def test_assignment_is_validated_and_names_the_path(path, value, message):
    scen = memsim.load_scenario(QUICK)
    *parents, last = path.split(".")
    obj = scen
    for p in parents:
        obj = getattr(obj, p)
    with pytest.raises(ConfigError) as e:
        setattr(obj, last, value)
    assert str(e.value).startswith(message), str(e.value)


def test_assignment_into_lists_and_new_sections_keeps_paths():
    scen = memsim.load_scenario(QUICK)
    scen.kv.tiers = [{"tier": "dram", "capacity": "1 GiB"}, {"tier": "ssd"}]
    assert scen.kv.tiers[0].capacity == 2**30
    with pytest.raises(ConfigError, match=r"^kv\.tiers\[1\]\.chunk_tokens: Input should be "):
        scen.kv.tiers[1].chunk_tokens = 0
    scen.kv = {"block_tokens": 32}
    with pytest.raises(ConfigError, match=r"^kv\.block_tokens: "):
        scen.kv.block_tokens = 0
    with pytest.raises(ConfigError, match=r"^kv\.prefix_cache\.enabled: kv\.allocation "
                                          r"'max_length' reserves contiguous memory"):
        scen.kv.allocation = "max_length"
        scen.kv.prefix_cache.enabled = True
        scen.kv.allocation = scen.kv.allocation    # the model-level check reruns


def test_a_good_assignment_is_kept():
    scen = memsim.load_scenario(QUICK)
    scen.kv.activation_reserve = "2 GiB"
    scen.engine.sample_interval = "500 ms"
    assert scen.kv.activation_reserve == 2 * 2**30 and scen.engine.sample_interval == 0.5


def test_a_loaded_scenario_reloads_with_overrides_exactly():
    scen = memsim.load_scenario(QUICK, {
        "kv.activation_reserve": "1.5 GiB", "kv.session_ttl": "250 ms",
        "kv.tiers": [{"tier": "dram", "capacity": "3 GiB"}, {"tier": "ssd", "capacity": "unlimited"}],
        "engine.max_sim_time": "1 h"})
    again = memsim.load_scenario(scen, {"seed": 7})
    assert again.seed == 7 and again.base_dir == scen.base_dir
    assert again.model_dump() == {**scen.model_dump(), "seed": 7}
    assert memsim.load_scenario(scen) is scen
    plain = scen.model_dump(mode="json")                # numbers in base units, as before
    assert plain["kv"]["activation_reserve"] == int(1.5 * 2**30)
    assert plain["workload"]["arrivals"]["rate"] == 8.0
