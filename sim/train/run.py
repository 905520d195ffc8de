"""``run_train``: run a ``kind: train`` scenario (one plan, or the search for the fastest)."""
from __future__ import annotations

from pathlib import Path

from .layout import resolve
from .result import TrainResult, evaluate
from .scenario import TrainScenario, load_train_scenario
from .search import search_plans

__all__ = ["run_train"]


def run_train(scenario: TrainScenario | str | Path, *, kernels=None) -> TrainResult:
    """Run a scenario (a TrainScenario or a YAML path): its memory plan and simulated step.

    With ``search: true`` the fastest plan that fits is found first (``search_plans``).
    """
    sc = scenario if isinstance(scenario, TrainScenario) else load_train_scenario(scenario)
    if sc.search:
        return search_plans(sc, kernels=kernels).best
    return evaluate(resolve(sc), kernels=kernels)
