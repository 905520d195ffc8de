"""The scenario union: ``memsim run`` and ``memsim.run`` take every kind; one table adds a kind."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.sim import kinds
from memsim.sim.config import Scenario, load_scenario
from memsim.sim.offload.flash import FlashRun
from memsim.sim.offload.scenario import FlashScenario, OffloadScenario
from memsim.sim.scenario_file import ScenarioFile

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "scenarios"


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("name,command", [("flash-opt-6.7b", "flash"),
                                          ("flash-llama-2-7b-rtx4090", "flash"),
                                          ("offload-opt-30b-placement", "offload")])
def test_memsim_run_prints_what_the_kinds_command_prints(capsys, name, command):
    path = SHIPPED / f"{name}.yaml"
    for extra in ([], ["--json"]):
        rc, via_run, err = cli(capsys, "run", path, *extra)
        assert rc == 0, err
        rc, via_cmd, _ = cli(capsys, command, path, *extra)
        assert rc == 0 and via_run == via_cmd and via_run.strip()


def test_every_shipped_scenario_loads_as_its_kind():
    for path in sorted(SHIPPED.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if "base" in data:          # sweep files
            with pytest.raises(ConfigError, match="sweep file"):
                memsim.load_scenario(path)
            continue
        scen = memsim.load_scenario(path)
        assert kinds.kind_of(scen) == data.get("kind", "serve"), path.name


def test_memsim_run_returns_the_kinds_result():
    runs = memsim.run(SHIPPED / "flash-opt-6.7b.yaml", overrides={"tokens": 6})
    assert isinstance(runs, list) and all(isinstance(r, FlashRun) for r in runs)
    assert [r.policy for r in runs] == ["naive", "bundling", "windowing", "windowing_bundling"]
    off = memsim.run("offload-opt-30b-placement")
    assert isinstance(off, dict) and off["num_gpu_batches"] == 8
    res = memsim.run("quickstart", overrides={"workload.num_requests": 10})
    assert isinstance(res, memsim.Result) and res.summary["completed"] == 10


def test_options_a_kind_does_not_take_are_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match=r"^out: a kind: flash run does not take out="):
        memsim.run("flash-opt-6.7b", out=tmp_path / "o")
    with pytest.raises(ConfigError, match=r"offload-opt-30b.yaml: seed: a kind: offload "
                                          r"scenario has no seed"):
        memsim.run("offload-opt-30b", seed=3)
    assert not (tmp_path / "o").exists()


def test_run_out_with_another_kind_is_one_line_before_running(capsys, tmp_path):
    rc, out, err = cli(capsys, "run", "flash-opt-6.7b", "--out", tmp_path / "o")
    assert rc == 2 and err.strip() == ("memsim: error: --out: a kind: flash scenario writes no "
                                       "result folder; drop --out (--json prints the result)")
    assert out == "" and not (tmp_path / "o").exists()


def test_set_and_seed_apply_to_every_kind(capsys):
    rc, out, _ = cli(capsys, "run", "flash-opt-6.7b", "--json", "--set", "tokens=7",
                     "--seed", "4", "--set", "policies=[naive]")
    d = json.loads(out)
    assert rc == 0 and d["scenario"]["tokens"] == 7 and d["scenario"]["seed"] == 4
    assert [r["policy"] for r in d["runs"]] == ["naive"]


def test_serve_only_loader_points_at_the_union(tmp_path):
    with pytest.raises(ConfigError, match=r"flash-opt-6.7b.yaml: kind: a kind: flash scenario; "
                                          r"this takes kind: serve \(memsim run FILE"):
        load_scenario(SHIPPED / "flash-opt-6.7b.yaml")
    with pytest.raises(ConfigError, match=r"kind: unknown scenario kind 'flsh' \(did you mean "
                                          r"'flash'\?\); known: serve, flash, offload"):
        memsim.load_scenario({"kind": "flsh"})


def test_kind_serve_may_be_written_and_is_not_dumped():
    data = yaml.safe_load((SHIPPED / "quickstart.yaml").read_text())
    a = memsim.load_scenario(data)
    b = memsim.load_scenario({**data, "kind": "serve"})
    assert isinstance(a, Scenario) and a == b
    assert "kind" not in a.model_dump()        # results and sweep hashes are unchanged


def test_schema_is_the_union(capsys):
    rc, out, _ = cli(capsys, "schema", "scenario")
    s = json.loads(out)
    refs = [o["$ref"].rsplit("/", 1)[1] for o in s["oneOf"]]
    assert rc == 0 and refs == ["Scenario", "FlashScenario", "OffloadScenario", "TrainScenario"]
    assert s["$defs"]["FlashScenario"]["properties"]["kind"]["const"] == "flash"
    assert s["$defs"]["Scenario"]["properties"]["kind"]["default"] == "serve"


def test_a_sweep_file_given_to_run_says_so(capsys):
    rc, _, err = cli(capsys, "run", SHIPPED / "sweep-batching.yaml")
    assert rc == 2 and "this is a sweep file (base/grid/zip), not a scenario: run it with " \
                       "memsim sweep" in err and len(err.splitlines()) == 1


# ---- adding a kind: one entry in KINDS ---------------------------------------------

class EchoScenario(ScenarioFile):
    """A toy kind: its runner returns its own fields."""
    kind: Literal["echo"]
    words: int = 1


def run_echo(sc: EchoScenario) -> dict:
    return {"words": sc.words, "from": sc.source_file}


def test_one_table_entry_adds_a_kind(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(kinds.KINDS, "echo", kinds.Kind(EchoScenario, run_echo, "a dict"))
    f = tmp_path / "echo.yaml"
    f.write_text("kind: echo\nwords: 3\n")
    assert memsim.run(f, overrides={"words": 4}) == {"words": 4, "from": str(f)}
    rc, out, _ = cli(capsys, "run", f, "--set", "words=5")        # no printer: JSON
    assert rc == 0 and json.loads(out) == {"words": 5, "from": str(f)}
    rc, _, err = cli(capsys, "run", f, "--set", "words=yes")
    assert rc == 2 and "echo.yaml: words: Input should be a valid integer (got 'yes')" in err
    refs = [o["$ref"].rsplit("/", 1)[1] for o in kinds.schema()["oneOf"]]
    assert refs[-1] == "EchoScenario"


def test_kind_models_and_runners_are_consistent():
    for name, k in kinds.KINDS.items():
        assert issubclass(k.model, ScenarioFile)
        assert k.model.model_fields["kind"].annotation.__args__ == (name,)
        assert callable(k.runner) and k.returns
    assert isinstance(memsim.load_scenario("flash-opt-6.7b"), FlashScenario)
    assert isinstance(memsim.load_scenario("offload-opt-30b"), OffloadScenario)


def test_memsim_run_takes_a_train_scenario(capsys):
    rc, out, _ = cli(capsys, "run", SHIPPED / "train-llama8b-8xh100.yaml", "--json")
    d = json.loads(out)
    assert rc == 0 and d["scenario"]["kind"] == "train" and d["summary"]["step_s"] > 0
