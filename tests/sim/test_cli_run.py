"""`memsim run` from the command line: summary, --json, --set, and one-line errors with exit 2."""
from __future__ import annotations

import json

import pytest
import yaml

from memsim.cli import main


def write(tmp_path, name, data) -> str:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(p)


@pytest.fixture
def small(tmp_path, scenario):
    return write(tmp_path, "s.yaml", scenario(workload__num_requests=30))


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_summary_has_the_documented_keys(capsys, small):
    rc, out, err = run_cli(capsys, "run", small, "--json")
    assert rc == 0
    s = json.loads(out)
    for k in ("completed", "throughput_tok_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "e2e_p50_s",
              "sim_time_s", "wall_time_s", "prefix_hit_ratio"):
        assert k in s, k
    assert s["completed"] == 30


def test_table_summary_and_out_dir(capsys, small, tmp_path):
    rc, out, _ = run_cli(capsys, "run", small, "--out", str(tmp_path / "o"), "--no-report")
    assert rc == 0 and "TTFT p50" in out
    assert (tmp_path / "o" / "summary.json").is_file()
    assert (tmp_path / "o" / "requests.parquet").is_file()


def test_set_overrides_and_seed(capsys, small):
    _, a, _ = run_cli(capsys, "run", small, "--json", "--set", "scheduler.max_batch_size=2")
    _, b, _ = run_cli(capsys, "run", small, "--json")
    _, c, _ = run_cli(capsys, "run", small, "--json", "--seed", "5")
    a, b, c = json.loads(a), json.loads(b), json.loads(c)
    assert a["mean_batch_size"] <= 2 < b["mean_batch_size"]
    assert c["seed"] == 5 and c["ttft_mean_s"] != b["ttft_mean_s"]


WL = {"kind": "synthetic", "num_requests": 1, "arrivals": {"process": "poisson", "rate": "1 req/s"},
      "input_tokens": {"dist": "fixed", "value": 10}, "output_tokens": {"dist": "fixed", "value": 2}}

BAD_CASES = {
    "malformed yaml": ("platform: [h100\n", "invalid YAML"),
    "unknown key": ({"platform": "h100_sxm", "model": "llama-3.1-8b", "colour": "red",
                     "workload": WL}, "colour: unknown key"),
    "unit of the wrong dimension": ({"platform": "h100_sxm", "model": "llama-3.1-8b",
                                     "kv": {"activation_reserve": "3 GB/s"},
                                     "workload": WL},
                                    "kv.activation_reserve"),
    "missing trace": ({"platform": "h100_sxm", "model": "llama-3.1-8b",
                       "workload": {"kind": "mooncake", "path": "nope.jsonl"}}, "nope.jsonl"),
    "unknown platform": ({"platform": "h900", "model": "llama-3.1-8b",
                          "workload": WL}, "bad.yaml: platform: "),
    "unknown policy": ({"platform": "h100_sxm", "model": "llama-3.1-8b",
                        "kv": {"prefix_cache": {"eviction": "lruu"}},
                        "workload": WL}, "kv.prefix_cache.eviction: unknown eviction policy 'lruu' (did you mean 'lru'?)"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, case):
    data, needle = BAD_CASES[case]
    path = write(tmp_path, "bad.yaml", data)
    rc, out, err = run_cli(capsys, "run", path)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


def test_corrupt_trace_line_names_file_and_line(capsys, tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": [0]}\n'
                     '{"timestamp": 5, "input_length": "ten", "output_length": 2, "hash_ids": [0]}\n')
    path = write(tmp_path, "s.yaml", {"platform": "h100_sxm", "model": "llama-3.1-8b",
                                      "workload": {"kind": "mooncake", "path": "t.jsonl"}})
    rc, _, err = run_cli(capsys, "run", path)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "t.jsonl" in err and "line 2" in err


def test_bad_set_value_names_the_field(capsys, small):
    rc, _, err = run_cli(capsys, "run", small, "--set", "scheduler.max_batch_size=-3")
    assert rc == 2 and "scheduler.max_batch_size" in err
    rc, _, err = run_cli(capsys, "run", small, "--set", "nonsense")
    assert rc == 2 and "dotted.path=VALUE" in err


def test_bad_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--frobnicate"])
    assert e.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_default_scenario_runs(capsys):
    rc, out, _ = run_cli(capsys, "run", "--json", "--set", "workload.num_requests=20")
    assert rc == 0 and json.loads(out)["completed"] == 20


def test_union_tag_is_not_part_of_the_field_path(capsys, tmp_path):
    wl = dict(WL)
    del wl["arrivals"]
    path = write(tmp_path, "s.yaml", {"platform": "h100_sxm", "model": "llama-3.1-8b", "workload": wl})
    rc, _, err = run_cli(capsys, "run", path)
    assert rc == 2 and "workload.arrivals: required field is missing" in err


def test_set_crosses_lists_by_item_name(capsys, tmp_path, scenario):
    path = write(tmp_path, "t.yaml", scenario(workload__num_requests=20,
                                              kv={"tiers": [{"tier": "dram", "capacity": "1 GiB"}]}))
    rc, out, _ = run_cli(capsys, "run", path, "--json", "--set", "kv.tiers.dram.capacity=2 GiB")
    assert rc == 0
    rc, _, err = run_cli(capsys, "run", path, "--set", "kv.tiers.hdd.capacity=2 GiB")
    assert rc == 2 and "kv.tiers has no item 'hdd'" in err and "t.yaml" in err
    rc, _, err = run_cli(capsys, "run", path, "--set", "kv.tiers.0.capacity=0")
    assert rc == 2 and "kv.tiers[0].capacity" in err
