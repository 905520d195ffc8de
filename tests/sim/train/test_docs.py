"""docs/training.md: its scenario example is valid and runs; the commands it shows exist."""
from __future__ import annotations

from pathlib import Path

import yaml

from memsim.ground.schema import validate
from memsim.sim.train import TrainScenario, run_train

DOC = Path(__file__).resolve().parents[3] / "docs" / "training.md"


def test_the_scenario_example_runs(tmp_path):
    block = DOC.read_text().split("## The scenario", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    sc = validate(TrainScenario, yaml.safe_load(block))
    assert sc.placement.optimizer == {"hbm": 0.5, "dram": 0.5} and sc.memory.reserve == 2 * 2**30
    r = run_train(sc)
    assert r.summary["step_s"] > 0 and r.summary["hbm_capacity_bytes"] == 70 * 2**30


def test_documented_scenarios_exist():
    text = DOC.read_text()
    for name in ("train-llama8b-8xh100", "train-llama70b-zero3-offload", "train-long-context-cxl"):
        assert f"scenarios/{name}.yaml" in text
        assert (DOC.parents[1] / "scenarios" / f"{name}.yaml").is_file()
