"""memsim.studies.compare and memsim compare: one row per scenario, the same numbers as memsim.run, deltas."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "scenarios" / "quickstart.yaml"
SMALL = {"workload.num_requests": 60}


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    base = yaml.safe_load(QUICK.read_text())
    base["workload"]["num_requests"] = 60
    a = d / "roomy.yaml"
    a.write_text(yaml.safe_dump(base))
    base["kv"]["memory_fraction"] = 0.24
    base["workload"]["arrivals"]["rate"] = "30 req/s"
    b = d / "tight.yaml"
    b.write_text(yaml.safe_dump(base))
    return a, b


def test_rows_match_sim_run(two_files):
    a, b = two_files
    df = memsim.compare([a, b], workers=2)
    assert df["scenario"].tolist() == ["roomy", "tight"]
    for path, (_, row) in zip((a, b), df.iterrows()):
        ref = memsim.run(path).summary
        for k in ("completed", "throughput_tok_s", "ttft_p50_s", "prefix_hit_ratio", "sim_time_s"):
            assert row[k] == ref[k], k
        assert row["error"] == ""
    assert df.loc[1, "ttft_p99_s"] > df.loc[0, "ttft_p99_s"]


def test_labels_dicts_and_in_process_runs_agree(two_files):
    a, b = two_files
    pool = memsim.compare({"x": a, "y": b}, workers=2)
    inproc = memsim.compare({"x": a, "y": b}, workers=1)
    assert pool["scenario"].tolist() == ["x", "y"]
    cols = [c for c in pool.columns if c not in ("wall_time_s", "sim_speed")]
    assert pool[cols].equals(inproc[cols])
    same = memsim.compare([a, a], workers=1, overrides={"kv.block_tokens": 32}, seed=3)
    assert same["scenario"].tolist() == ["roomy", "roomy #2"] and same["seed"].tolist() == [3, 3]


def test_compare_runs_a_sweep(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({"base": str(QUICK), "grid": {"workload.num_requests": [20, 40]},
                                 "out": str(tmp_path / "o")}))
    df = memsim.compare(f, workers=1)
    assert df["workload.num_requests"].tolist() == [20, 40] and df["completed"].tolist() == [20, 40]
    assert (tmp_path / "o" / "results.parquet").is_file()
    with pytest.raises(ConfigError, match="a sweep sets them in its file"):
        memsim.compare(f, seed=3)


@pytest.mark.parametrize("kwargs,msg", [({"executor": "spark"}, "unknown executor 'spark'"),
                                        ({"workers": 0}, "workers=0 must be an integer >= 1"),
                                        ({"scheduler": "tcp://x:1"}, "needs executor 'dask'"),
                                        ({"overrides": {"kv.nope": 1}}, "kv.nope: unknown key")])
def test_bad_arguments(two_files, kwargs, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        memsim.compare(list(two_files), **kwargs)


def test_cli_compare_table_report_and_json(two_files, tmp_path, capsys):
    a, b = two_files
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "--workers", "2"]) == 0
    text = capsys.readouterr().out
    assert "Δ tight" in text and "ttft_p50_s" in text
    assert (tmp_path / "cmp" / "report.html").is_file()
    assert memsim.load_result(tmp_path / "cmp" / "tight").summary["completed"] == 60
    assert main(["compare", str(a), str(b), "--json", "--workers", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["scenario"] for r in rows] == ["roomy", "tight"]
    assert main(["compare", str(a), "--set", "kv.nope=1"]) == 2
    assert "kv.nope: unknown key" in capsys.readouterr().err


def test_sim_compare_is_callable_after_importing_the_module():
    import importlib
    importlib.import_module("memsim.studies.compare")          # binds the module as the attribute memsim.compare
    from memsim.studies.compare import compare
    assert callable(memsim.compare)
    assert memsim.studies.compare.compare is compare


def test_cli_compare_a_scenario_that_cannot_run(two_files, tmp_path, capsys):
    a, _ = two_files
    assert main(["compare", str(a), "--set", "kv.memory_fraction=0.1", "--out", str(tmp_path / "o"),
                 "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("roomy: SimulationError: model llama-3.1-8b") and "leaves no HBM" in out
    assert not (tmp_path / "o" / "report.html").exists()
