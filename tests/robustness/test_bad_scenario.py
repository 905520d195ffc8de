"""Bad scenario YAML, case by case: each ends in one stderr line naming the file and field, exit 2.

Cases mutate a tiny valid scenario at one dotted path (wrong type, wrong unit,
negative/zero/huge, NaN/inf, unknown key at every level, missing required field,
bad policy and tier names).  Whole-file problems (not YAML, not a mapping,
non-UTF-8, missing, a directory) are checked separately, and hypothesis adds
random unknown keys at every mapping of the scenario.
"""
from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import tiny_scenario

DELETE = object()
NAN, INF = float("nan"), float("inf")


def mutate(data: dict, path: str, value):
    """Set (or delete) ``a.b.0.c`` in nested dicts/lists, creating mappings as needed."""
    parts = path.split(".")
    cur = data
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    last = parts[-1]
    if value is DELETE:
        del cur[int(last) if isinstance(cur, list) else last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return data


def field_name(path: str) -> str:
    """``kv.tiers.0.tier`` -> ``kv.tiers[0].tier`` (how errors print a location)."""
    out = ""
    for p in path.split("."):
        out += f"[{p}]" if p.isdigit() else ("." if out else "") + p
    return out


TIER = [{"tier": "dram", "capacity": "1 GiB"}]

# Bugs outside tests/ these cases document (strict xfail: they turn red once fixed).
PREFIX = ("sim/engine.py _Where / sim/hierarchy.py: an error about one entry of kv.tiers names "
          "only 'kv.tiers' (or 'kv.tiers.eviction...'), not the entry 'kv.tiers[0]...' it is about")

# (dotted path, value, needle the error must name; None: the path itself[, xfail reason])
CASES = [
    # unknown keys, at every level
    ("bogus", 1, "bogus"),
    ("scheduler.bogus", 1, None),
    ("kv.bogus", 1, None),
    ("kv.prefix_cache.bogus", 1, None),
    ("engine.bogus", 1, None),
    ("parallelism.bogus", 1, None),
    ("workload.bogus", 1, None),
    ("workload.arrivals.bogus", 1, None),
    ("workload.input_tokens.bogus", 1, None),
    ("workload.output_tokens.bogus", 1, None),
    ("workload.shared_prefix.bogus", 1, None),
    ("kv.tiers", [{"tier": "dram", "bogus": 1}], "kv.tiers[0].bogus"),
    ("workload.sessions", {"turns": {"dist": "fixed", "value": 2},
                           "think_time": {"dist": "fixed", "value": "1 s"}, "bogus": 1},
     "workload.sessions.bogus"),
    ("schedular", {"max_batch_size": 4}, "schedular"),          # typo of a section
    ("kv.block_token", 16, "kv.block_token"),                   # typo of a field
    # missing required fields
    ("platform", DELETE, "platform"),
    ("model", DELETE, "model"),
    ("workload", DELETE, "workload"),
    ("workload.kind", DELETE, "workload"),
    ("workload.arrivals", DELETE, "workload.arrivals"),
    ("workload.input_tokens.value", DELETE, "workload.input_tokens.value"),
    ("workload.num_requests", DELETE, "workload"),
    ("kv.tiers", [{"capacity": "1 GiB"}], "kv.tiers[0].tier"),
    # wrong types
    ("seed", "abc", None),
    ("seed", -1, None),
    ("seed", 1.5, None),
    ("version", 2, None),
    ("name", ["a"], None),
    ("platform", 7, "platform"),
    ("scheduler.max_batch_size", "many", None),
    ("scheduler.max_batch_size", 0, None),
    ("scheduler.max_batch_size", -4, None),
    ("scheduler.max_batch_size", 2.5, None),
    ("scheduler.max_batch_tokens", 0, None),
    ("scheduler.max_batch_tokens", NAN, None),
    ("scheduler.chunked_prefill", "maybe", None),
    ("scheduler.preemption", "swap", None),
    ("scheduler", [1, 2], None),
    ("kv", "big", None),
    ("kv.block_tokens", 0, None),
    ("kv.block_tokens", -16, None),
    ("kv.block_tokens", 1 << 20, None),
    ("kv.block_tokens", "16 tokens", None),
    ("kv.memory_fraction", 0, None),
    ("kv.memory_fraction", 1.5, None),
    ("kv.memory_fraction", -0.1, None),
    ("kv.memory_fraction", NAN, None),
    ("kv.memory_fraction", INF, None),
    ("kv.memory_fraction", "90%", None),
    ("kv.activation_reserve", "1 GB/s", None),      # a bandwidth where a size goes
    ("kv.activation_reserve", 5, None),             # bare number: no unit
    ("kv.activation_reserve", "-1 GiB", None),
    ("kv.activation_reserve", "1 parsec", None),
    ("kv.prefix_cache.enabled", "sometimes", None),
    ("kv.session_ttl", "5 GiB", None),
    ("kv.session_ttl", "soon", None),
    ("engine.sample_interval", "1 GiB", None),
    ("engine.sample_interval", 0, None),
    ("engine.sample_interval", "-1 s", None),
    ("engine.sample_interval", NAN, None),
    ("engine.max_sim_time", "ten minutes", None),
    ("engine.closed_form", "yes please", None),
    ("parallelism.tp", 0, None),
    ("parallelism.tp", 65, None),
    ("parallelism.tp", "two", None),
    ("workload.kind", "nosuch", "workload"),
    ("workload.num_requests", 0, None),
    ("workload.num_requests", -3, None),
    ("workload.num_requests", 2.5, None),
    ("workload.num_requests", "ten", None),
    ("workload.arrivals.rate", "8 GiB", None),
    ("workload.arrivals.rate", "-1 req/s", None),
    ("workload.arrivals.rate", 0, None),
    ("workload.arrivals.rate", NAN, None),
    ("workload.arrivals.rate", INF, None),
    ("workload.arrivals.process", "nosuch", "workload.arrivals"),
    ("workload.input_tokens.value", 0, None),
    ("workload.input_tokens.value", -100, None),
    ("workload.input_tokens.value", "100 GiB", None),
    ("workload.input_tokens.dist", "zipfian", "workload.input_tokens"),
    ("workload.output_tokens", {"dist": "lognormal", "mean": NAN}, "workload.output_tokens.mean"),
    ("workload.output_tokens", {"dist": "lognormal", "mean": -5}, "workload.output_tokens.mean"),
    ("workload.output_tokens", {"dist": "uniform", "low": 10, "high": 2}, "workload.output_tokens.high"),
    ("workload.shared_prefix.prompts", 0, None),
    ("workload.shared_prefix.tokens", -1, None),
    ("workload.shared_prefix.fraction", 2, None),
    ("workload.shared_prefix.popularity", INF, None),
    ("workload.hash_block_tokens", 0, None),
    ("workload.duration", "1 s", "workload"),                   # both num_requests and duration
    # names that do not exist
    ("platform", "nosuch_gpu", "platform"),
    ("model", "no-such-model", "model"),
    ("platform", "missing_hw.yaml", "platform"),
    ("model", "missing_model.yaml", "model"),
    ("dtype", "fp7", "dtype"),
    ("kv.prefix_cache.eviction", "nosuch", "kv.prefix_cache.eviction"),
    ("kv.prefix_cache.eviction", {"name": "nosuch"}, "kv.prefix_cache.eviction"),
    ("kv.prefix_cache.eviction", {"name": "lru", "bogus": 1}, "kv.prefix_cache.eviction.bogus"),
    ("kv.prefix_cache.eviction", 5, "kv.prefix_cache.eviction"),
    ("kv.allocation", "nosuch", "kv.allocation"),
    ("kv.compression", "nosuch", "kv.compression"),
    ("kv.tiers", [{"tier": "nosuch"}], "kv.tiers[0].tier", PREFIX),
    ("kv.tiers", [{"tier": "hbm"}], "kv.tiers[0].tier"),
    ("kv.tiers", [{"tier": "sram"}], "kv.tiers[0].tier"),
    ("kv.tiers", [{"tier": "dram"}, {"tier": "dram"}], "kv.tiers"),
    ("kv.tiers", "dram", "kv.tiers"),
    ("kv.tiers", [{"tier": "dram", "capacity": "-1 GiB"}], "kv.tiers[0].capacity"),
    ("kv.tiers", [{"tier": "dram", "capacity": "1 GB/s"}], "kv.tiers[0].capacity"),
    ("kv.tiers", [{"tier": "dram", "capacity": 0}], "kv.tiers[0].capacity"),
    ("kv.tiers", [{"tier": "dram", "capacity": "infinite"}], "kv.tiers[0].capacity"),
    ("kv.tiers", [{"tier": "dram", "chunk_tokens": 0}], "kv.tiers[0].chunk_tokens"),
    ("kv.tiers", [{"tier": "dram", "eviction": "nosuch"}], "kv.tiers"),
    ("kv.tiers", [{"tier": "dram", "eviction": {"name": "lru", "bogus": 1}}], "kv.tiers[0].eviction.bogus"),
    ("kv.write", "nosuch", "kv.write"),
    ("kv.load", "nosuch", "kv.load"),
    ("kv.prefetch", "nosuch", "kv.prefetch"),
    ("kv.promotion", "nosuch", "kv.promotion"),
    ("kv.overlap", "nosuch", "kv.overlap"),
]


def _id(case):
    path, value = case[:2]
    v = "DELETE" if value is DELETE else repr(value)
    return f"{path}={v}"[:60]


def _with_tiers(path: str) -> bool:
    """Tier-policy fields are only looked at when there are tiers."""
    return path in ("kv.write", "kv.load", "kv.prefetch", "kv.promotion", "kv.overlap")


def _params(cases):
    out = []
    for c in cases:
        marks = [pytest.mark.xfail(strict=True, reason=c[3])] if len(c) > 3 else []
        out.append(pytest.param(c[:3], id=_id(c), marks=marks))
    return out


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_scenario_field(tmp_path, cli_error, case):
    path, value, needle = case
    data = tiny_scenario()
    if _with_tiers(path):
        data["kv"]["tiers"] = TIER
    mutate(data, path, value)
    f = tmp_path / "bad_scenario.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    line = cli_error(["run", f, "--json"], "bad_scenario.yaml", needle or field_name(path),
                     family="scenario")
    if "unknown key" in line:
        assert "bogus" in line or "block_token" in line or "schedular" in line


@pytest.mark.parametrize("path,value", [c[:2] for c in CASES[:40:3]],
                         ids=[_id(c) for c in CASES[:40:3]])
def test_bad_override_names_the_field(tmp_path, cli_error, path, value):
    """The same problems given as ``--set`` overrides on a valid file."""
    if value is DELETE or isinstance(value, (dict, list)):
        pytest.skip("a deletion or a nested value is not one --set")
    f = tmp_path / "good.yaml"
    f.write_text(yaml.safe_dump(tiny_scenario()))
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()
    if isinstance(value, float) and math.isnan(value):
        text = ".nan"
    cli_error(["run", f, "--json", "--set", f"{path}={text}"], "good.yaml", path, family="scenario")


@pytest.mark.parametrize("text,needle", [
    ("platform: [unclosed\n", "invalid YAML"),
    ("- a\n- b\n", "mapping"),
    ("", "mapping"),
    ("just a string\n", "mapping"),
    ("a: 1\n  b: 2\n", "invalid YAML"),
])
def test_bad_scenario_file(tmp_path, cli_error, text, needle):
    f = tmp_path / "whole.yaml"
    f.write_text(text)
    cli_error(["run", f], "whole.yaml", needle, family="scenario")


def test_duplicate_key_is_not_silently_dropped(tmp_path, cli_error):
    f = tmp_path / "dup.yaml"
    f.write_text(yaml.safe_dump(tiny_scenario(), sort_keys=False) + "seed: 3\n")
    cli_error(["run", f, "--json"], "dup.yaml", "seed", family="scenario")


def test_non_utf8_scenario(tmp_path, cli_error):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(yaml.safe_dump(tiny_scenario()).encode() + b"name: caf\xe9\n")
    cli_error(["run", f], "latin1.yaml", "UTF-8", family="scenario")


def test_missing_and_directory_scenario(tmp_path, cli_error):
    cli_error(["run", tmp_path / "absent.yaml"], "absent.yaml", "not found", family="scenario")
    cli_error(["run", tmp_path], str(tmp_path), "directory", family="scenario")


def _mappings(data, prefix=""):
    """Every (dotted path) of a mapping inside the scenario."""
    out = [prefix] if isinstance(data, dict) else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _mappings(v, f"{prefix}.{k}" if prefix else k)
    return out


ALL_MAPPINGS = _mappings({**tiny_scenario(), "engine": {"closed_form": True},
                          "parallelism": {"tp": 1}, "kv": {**tiny_scenario()["kv"],
                                                           "prefix_cache": {"enabled": True}}})

keys = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=3, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(ALL_MAPPINGS), key=keys)
def test_unknown_key_anywhere_is_never_ignored(tmp_path, cli_error, where, key):
    data = tiny_scenario()
    data.setdefault("engine", {"closed_form": True})
    data.setdefault("parallelism", {"tp": 1})
    data["kv"].setdefault("prefix_cache", {"enabled": True})
    node = data
    for p in filter(None, where.split(".")):
        node = node[p]
    if key in node or key in _known_fields(where):
        return
    node[key] = 1
    f = tmp_path / "unknown.yaml"
    f.write_text(yaml.safe_dump(data))
    cli_error(["run", f, "--json"], "unknown.yaml", key, family="scenario")


def _known_fields(where: str) -> set:
    """Field names valid at ``where`` (a random key that happens to be one is not unknown)."""
    from memsim.sim.config import Scenario
    from memsim.workloads import spec
    models = {"": Scenario, "scheduler": Scenario.model_fields["scheduler"].annotation,
              "kv": Scenario.model_fields["kv"].annotation}
    names = set()
    for m in list(models.values()) + [spec.SyntheticSpec, spec.PoissonArrivals, spec.FixedTokens,
                                      spec.SharedPrefixSpec, spec.LognormalTokens]:
        names |= set(getattr(m, "model_fields", {}))
    return names
