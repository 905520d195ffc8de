"""Shipped scenarios by name from any folder; trace lookup order with MEMSIM_TRACE_DIR."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.workloads import open_workload
from memsim.workloads._lines import TRACE_DIR_ENV, resolve_path, trace_candidates

REPO = Path(__file__).resolve().parents[2]
ROW = '{"timestamp": 0, "input_length": %d, "output_length": 1}\n'


def test_shipped_scenario_by_name_from_another_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["run", "quickstart", "--json", "--set", "workload.num_requests=10"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["completed"] == 10
    scen = memsim.load_scenario("kivi-llama8b-2bit")
    assert scen.source_file == str(REPO / "scenarios" / "kivi-llama8b-2bit.yaml")
    assert scen.base_dir == REPO / "scenarios"


def test_a_file_in_the_working_folder_wins_over_a_shipped_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    data = yaml.safe_load((REPO / "scenarios" / "quickstart.yaml").read_text())
    (tmp_path / "quickstart").write_text(yaml.safe_dump({**data, "name": "mine"}))
    assert memsim.load_scenario("quickstart").name == "mine"


def test_an_unknown_name_suggests_the_closest(capsys):
    rc = main(["run", "quikstart"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("memsim: error: scenario: unknown scenario 'quikstart' "
                                      "(did you mean 'quickstart'?); shipped: ")


def _trace(folder: Path, tokens: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.jsonl").write_text(ROW % tokens)
    return folder / "t.jsonl"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """checkout/scenarios/s.yaml naming ../../shared/traces/m/t.jsonl (40 tokens there),
    and another traces folder with the same file holding 70 tokens."""
    monkeypatch.delenv(TRACE_DIR_ENV, raising=False)
    scen_dir = tmp_path / "checkout" / "scenarios"
    scen_dir.mkdir(parents=True)
    _trace(tmp_path / "shared" / "traces" / "m", 40)
    _trace(tmp_path / "elsewhere" / "m", 70)
    return scen_dir


def first_len(path, base_dir):
    return next(iter(open_workload({"kind": "mooncake", "path": path}, base_dir=base_dir))
                ).input_tokens


def test_relative_shared_path_without_the_variable(layout):
    assert first_len("../../shared/traces/m/t.jsonl", layout) == 40


def test_the_variable_is_looked_up_first(layout, monkeypatch, tmp_path):
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert first_len("../../shared/traces/m/t.jsonl", layout) == 70
    assert first_len("traces/m/t.jsonl", layout) == 70
    assert trace_candidates("../../shared/traces/m/t.jsonl", layout) == [
        tmp_path / "elsewhere" / "m" / "t.jsonl", layout / "../../shared/traces/m/t.jsonl"]


def test_a_file_missing_under_the_variable_falls_back_to_the_relative_path(layout, monkeypatch,
                                                                           tmp_path):
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path / "empty"))
    assert first_len("../../shared/traces/m/t.jsonl", layout) == 40
    # found nowhere: the error names the variable's folder, the first place looked
    assert resolve_path("traces/m/none.jsonl", layout) == tmp_path / "empty" / "m" / "none.jsonl"


def test_paths_without_a_traces_part_ignore_the_variable(layout, monkeypatch, tmp_path):
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resolve_path("data/t.jsonl", layout) == layout / "data" / "t.jsonl"
    assert resolve_path(str(tmp_path / "x.jsonl"), layout) == tmp_path / "x.jsonl"


def test_missing_trace_hints_at_the_variable(layout, capsys):
    scen = yaml.safe_load((REPO / "scenarios" / "mooncake-h100-llama8b.yaml").read_text())
    scen["workload"]["path"] = "../../shared/traces/m/absent.jsonl"
    (layout / "s.yaml").write_text(yaml.safe_dump(scen))
    rc = main(["run", str(layout / "s.yaml")])
    err = capsys.readouterr().err
    assert rc == 2 and "trace file not found (set MEMSIM_TRACE_DIR to your traces folder" in err


@pytest.mark.parametrize("name", ["mooncake-h100-llama8b", "tiered-kv-mooncake",
                                  "azure-conv-a100-llama8b", "cluster-mooncake-4xh100",
                                  "cluster-disagg-mooncake"])
def test_shipped_trace_scenarios_resolve_through_the_variable(name, monkeypatch, tmp_path):
    scen = memsim.load_scenario(name)
    real = resolve_path(scen.workload.path, scen.base_dir)
    if not real.is_file():
        pytest.skip(f"shared traces not found at {real}")
    monkeypatch.setenv(TRACE_DIR_ENV, str(real.parents[1]))   # the folder holding traces
    monkeypatch.chdir(tmp_path)
    assert resolve_path(scen.workload.path, "/nonexistent") == real
    with pytest.raises(ConfigError):          # not a trace folder: nothing found, one error
        monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path))
        list(zip(range(1), open_workload(scen.workload, base_dir="/nonexistent")))
