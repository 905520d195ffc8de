"""Workload YAML validation, path resolution and the package's public surface."""
from __future__ import annotations

from pathlib import Path

import pytest

import memsim.workloads as workloads
from memsim.ground.errors import ConfigError, TraceError
from memsim.workloads import open_workload, parse_workload_spec
from memsim.workloads._lines import resolve_path
from memsim.workloads.spec import MooncakeSpec, SyntheticSpec

SYN = {"kind": "synthetic", "num_requests": 5,
       "arrivals": {"process": "poisson", "rate": "5 req/s"},
       "input_tokens": {"dist": "fixed", "value": 100},
       "output_tokens": {"dist": "fixed", "value": 10}}


def test_public_api():
    for name in ("Request", "WorkloadSpec", "open_workload", "load_model", "list_models",
                 "ModelSpec"):
        assert name in workloads.__all__
    assert {"Request", "WorkloadSpec", "open_workload"} <= set(dir(workloads))


def test_model_catalogue_is_re_exported():
    model = pytest.importorskip("memsim.workloads.model", reason="workloads/model.py not written yet")
    assert workloads.load_model is model.load_model
    assert workloads.list_models is model.list_models
    assert workloads.ModelSpec is model.ModelSpec


def test_parse_picks_the_kind():
    assert isinstance(parse_workload_spec(SYN), SyntheticSpec)
    spec = parse_workload_spec({"kind": "mooncake", "path": "t.jsonl", "start": "1 min",
                                "end": "2 min", "time_scale": 2})
    assert isinstance(spec, MooncakeSpec)
    assert (spec.start, spec.end, spec.time_scale, spec.hash_block_tokens) == (60.0, 120.0, 2.0, 512)


@pytest.mark.parametrize("change, words", [
    ({"kind": "tsv"}, "does not match any of the expected tags"),
    ({"rate": 1}, "unknown key"),
    ({"duration": "1 h"}, "give exactly one of num_requests or duration"),
    ({"num_requests": 0}, "greater than or equal to 1"),
    ({"arrivals": {"process": "poisson", "rate": "5 GB/s"}}, "is a bandwidth; expected a rate"),
    ({"arrivals": {"process": "poisson", "rate": 5}}, "has no unit"),
    ({"arrivals": {"process": "poisson", "rate": "5 req/s", "cv": 2}}, "unknown key"),
    ({"input_tokens": {"dist": "uniform", "low": 10, "high": 5}}, "high (5) must be >= low (10)"),
    ({"input_tokens": {"dist": "fixed", "value": "100"}}, "valid integer"),
    ({"input_tokens": {"dist": "lognormal", "mean": 100, "max": 10, "min": 20}}, "max (10) must be >= min (20)"),
    ({"sessions": {"turns": {"dist": "fixed", "value": 3},
                   "think_time": {"dist": "fixed", "value": "3 s"},
                   "tool_call_fraction": 0.5}}, "tool_gap is required"),
    ({"sessions": {"turns": {"dist": "fixed", "value": 3},
                   "think_time": {"dist": "fixed", "value": 3}}}, "has no unit"),
    ({"shared_prefix": {"prompts": 2, "tokens": 10, "fraction": 1.5}}, "less than or equal to 1"),
])
def test_bad_synthetic_specs(change, words):
    with pytest.raises(ConfigError) as err:
        parse_workload_spec({**SYN, **change}, file="scen.yaml")
    msg = str(err.value)
    assert msg.startswith("scen.yaml: workload") and words in msg, msg


@pytest.mark.parametrize("change, words", [
    ({"time_scale": 0}, "greater than 0"),
    ({"time_scale": float("inf")}, "finite"),
    ({"start": "5 s", "end": "2 s"}, "end (2 s) must be after start (5 s)"),
    ({"limit": -1}, "greater than or equal to 1"),
    ({"end": "3 GB"}, "is a size; expected a time"),
    ({"hash_ids": True}, "unknown key"),
])
def test_bad_trace_options(change, words):
    with pytest.raises(ConfigError) as err:
        parse_workload_spec({"kind": "mooncake", "path": "t.jsonl", **change})
    assert words in str(err.value), str(err.value)


def test_paths_expand_vars_and_trace_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MY_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MEMSIM_TRACE_DIR", raising=False)
    assert resolve_path("$MY_DATA/t.jsonl", "/elsewhere") == tmp_path / "data" / "t.jsonl"
    assert resolve_path("${MY_DATA}/t.jsonl", None) == tmp_path / "data" / "t.jsonl"
    assert resolve_path("t.jsonl", tmp_path) == tmp_path / "t.jsonl"
    assert resolve_path("traces/a/t.jsonl", tmp_path) == tmp_path / "traces" / "a" / "t.jsonl"
    assert resolve_path("/abs/t.jsonl", tmp_path) == Path("/abs/t.jsonl")
    monkeypatch.setenv("MEMSIM_TRACE_DIR", str(tmp_path / "shared"))
    assert resolve_path("traces/a/t.jsonl", "/x") == tmp_path / "shared" / "a" / "t.jsonl"
    assert resolve_path("other/t.jsonl", "/x") == Path("/x/other/t.jsonl")


def test_trace_dir_env_is_used_to_open(monkeypatch, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "t.jsonl").write_text(
        '{"timestamp": 0, "input_length": 5, "output_length": 1}\n')
    monkeypatch.setenv("MEMSIM_TRACE_DIR", str(tmp_path))
    reqs = list(open_workload({"kind": "mooncake", "path": "traces/m/t.jsonl"},
                              base_dir="/nonexistent"))
    assert len(reqs) == 1
    monkeypatch.delenv("MEMSIM_TRACE_DIR")
    with pytest.raises(TraceError, match="set MEMSIM_TRACE_DIR"):
        open_workload({"kind": "mooncake", "path": "traces/m/t.jsonl"}, base_dir="/nonexistent")


@pytest.mark.parametrize("data, where", [
    ({**SYN, "input_tokens": {"dist": "uniform", "low": 10, "high": 5}}, "workload.input_tokens.high"),
    ({**SYN, "output_tokens": {"dist": "normal", "mean": 5, "std": 1, "min": 9, "max": 2}},
     "workload.output_tokens.max"),
    ({"kind": "azure", "path": "a.csv", "start": "1 h", "end": "30 min"}, "workload.end"),
    ({**SYN, "arrivals": {"process": "gamma", "rate": "1 req/s", "cv": 0}}, "workload.arrivals.cv"),
])
def test_errors_name_the_field(data, where):
    with pytest.raises(ConfigError) as err:
        parse_workload_spec(data, file="scen.yaml")
    assert str(err.value).startswith(f"scen.yaml: {where}: "), str(err.value)
