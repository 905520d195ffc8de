"""Values: one YAML dialect for files and --set, strict scalars, policy parameters checked
when the scenario loads (before any engine is built)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground import yaml12
from memsim.ground.errors import ConfigError
from memsim.sim import engine
from memsim.sim.overrides import parse_set, parse_sets

QUICK = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.mark.parametrize("text,value", [
    ("true", True), ("False", False), ("yes", "yes"), ("on", "on"), ("n", "n"),
    ("010", 10), ("0o17", 15), ("0x1f", 31), ("-5", -5), ("1_000", "1_000"), ("1:30", "1:30"),
    ("1e3", 1000.0), (".5", 0.5), ("2024-01-01", "2024-01-01"), ("~", None), ("5 req/s", "5 req/s"),
])
def test_yaml_dialect(text, value):
    assert yaml12.parse(text) == value and type(yaml12.parse(text)) is type(value)
    assert parse_set(f"x={text}") == ("x", value)          # --set reads values the same way


def test_nan_and_inf_parse_and_are_refused_as_fields():
    assert math.isnan(yaml12.parse(".nan")) and yaml12.parse("-.inf") == -math.inf
    with pytest.raises(ConfigError, match=r"kv\.memory_fraction: Input should be a finite number"):
        memsim.load_scenario(QUICK, {"kv.memory_fraction": yaml12.parse(".inf")})


@pytest.mark.parametrize("text,needle", [
    ("kv.block_tokens: yes", "kv.block_tokens: Input should be a valid integer (got 'yes')"),
    ("parallelism: {tp: on}", "parallelism.tp: Input should be a valid integer (got 'on')"),
    ("workload: {num_requests: 1_000}", "workload.num_requests: Input should be a valid integer "
                                        "(got '1_000'; write 1000: no digit separators)"),
    ("kv.block_tokens: 16.0", "kv.block_tokens: Input should be a valid integer (got 16.0)"),
    ("scheduler.chunked_prefill: 1", "scheduler.chunked_prefill: Input should be a valid "
                                     "boolean: write true or false (got 1)"),
    ("scheduler.chunked_prefill: 'true'", "scheduler.chunked_prefill: Input should be a valid "
                                          "boolean: write true or false (got 'true')"),
    ("kv.memory_fraction: true", "kv.memory_fraction: Input should be a valid number, not a "
                                 "boolean (got True)"),
    ("workload.arrivals.rate: 5", "workload.arrivals.rate: 5 has no unit"),
])
def test_file_and_set_refuse_the_same_values(tmp_path, capsys, text, needle):
    """Each value once in the file and once as --set: the same one-line error."""
    path, _, raw = text.partition(": ")
    data = yaml.safe_load(QUICK.read_text())
    if path.startswith(("parallelism", "workload")) and "{" in raw:
        key, _, inner = raw.strip("{}").partition(": ")
        path, raw = f"{path}.{key}", inner
    lines = []
    f_set = tmp_path / "good.yaml"
    f_set.write_text(yaml.safe_dump(data))
    assert main(["run", str(f_set), "--json", "--set", f"{path}={raw}"]) == 2
    lines.append(capsys.readouterr().err.strip())
    cur = data
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = "@@"
    f_file = tmp_path / "bad.yaml"
    f_file.write_text(yaml.safe_dump(data).replace("'@@'", raw))
    assert main(["run", str(f_file), "--json"]) == 2
    lines.append(capsys.readouterr().err.strip())
    for ln, name in zip(lines, ("good.yaml", "bad.yaml")):
        assert ln.count("\n") == 0 and f"{name}: {needle}" in ln, ln


def test_rate_units_read_alike_in_file_and_set():
    for text, per_s in (("30 req/min", 0.5), ("30/min", 0.5), ("3600 req/h", 1.0), ("2 /s", 2.0),
                        ("2req/s", 2.0)):
        a = memsim.load_scenario(QUICK, {"workload.arrivals.rate": text})
        b = memsim.load_scenario(QUICK, dict([parse_set(f"workload.arrivals.rate={text}")]))
        assert a.workload.arrivals.rate == b.workload.arrivals.rate == pytest.approx(per_s)


def test_the_same_set_path_twice_is_refused(capsys):
    with pytest.raises(ConfigError, match=r"^--set kv\.block_tokens: given twice "
                                          r"\('kv\.block_tokens=8' and 'kv\.block_tokens=8'\)"):
        parse_sets(["kv.block_tokens=8", "kv.block_tokens=8"])
    assert main(["run", "--set", "seed=1", "--set", "seed=2"]) == 2
    assert capsys.readouterr().err.strip() == ("memsim: error: --set seed: given twice "
                                               "('seed=1' and 'seed=2'); give it once")


def test_duplicate_key_inside_a_set_value():
    with pytest.raises(ConfigError, match=r"--set kv: key 'block_tokens' appears twice"):
        parse_set("kv={block_tokens: 8, block_tokens: 16}")


@pytest.mark.parametrize("over,message", [
    ({"kv.prefix_cache.eviction": {"name": "s3fifo", "small_fraction": 2}},
     "kv.prefix_cache.eviction.small_fraction: small_fraction=2 must be in [0, 1]"),
    ({"kv.prefix_cache.eviction": {"name": "clock", "bits": 40}},
     "kv.prefix_cache.eviction.bits: bits=40 must be an integer in 1..16"),
    ({"kv.tiers": [{"tier": "dram", "eviction": {"name": "slru", "protected_fraction": -1}}]},
     "kv.tiers[0].eviction.protected_fraction: protected_fraction=-1 must be in [0, 1]"),
    ({"kv.compression": {"name": "kivi", "bits": 3}}, "kv.compression"),
    ({"kv.allocation": {"name": "max_length", "max_tokens": 0}}, "kv.allocation"),
])
def test_policy_parameter_values_are_checked_when_the_scenario_loads(monkeypatch, tmp_path,
                                                                     capsys, over, message):
    def no_engine(*a, **k):
        raise AssertionError("the engine was built")
    monkeypatch.setattr(engine, "Engine", no_engine)
    with pytest.raises(ConfigError) as e:
        memsim.load_scenario(QUICK, over)
    assert f"quickstart.yaml: {message}" in str(e.value), str(e.value)
    data = yaml.safe_load(QUICK.read_text())
    f = tmp_path / "scenario.yaml"
    f.write_text(yaml.safe_dump(memsim.sim.overrides.apply_overrides(data, over)))
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"memsim: error: {f}: {message}") and "\n" not in err
