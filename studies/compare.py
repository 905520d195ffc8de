"""Run several scenarios side by side and tabulate their summaries: ``memsim.compare``.

Scenarios (or a sweep) run through ``studies.runner.run_many``; the table has one
row per run, its parameters and its summary metrics.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from memsim.ground.errors import ConfigError
from memsim.ground.files import safe_name
from memsim.sim.config import load_scenario

from .runner import EXECUTORS, WALL_CLOCK, Progress, Task, run_many, summary_row
from .sweep import Sweep, is_sweep_file, load_sweep, run_sweep

__all__ = ["compare", "run_scenarios", "EXECUTORS", "WALL_CLOCK"]


def _label(item: Any, i: int) -> str:
    if isinstance(item, (str, Path)):
        return safe_name(Path(item).stem, default=f"scenario {i}")
    if isinstance(item, Mapping):
        return str(item.get("name") or f"scenario {i}")
    return str(getattr(item, "name", None) or f"scenario {i}")


def _unique(labels: Iterable[str]) -> list[str]:
    out: list[str] = []
    for lab in labels:
        base, n = lab, 2
        while lab in out:
            lab, n = f"{base} #{n}", n + 1
        out.append(lab)
    return out


def run_scenarios(scenarios: Any, *, executor: str = "local", workers: int | None = None,
                  scheduler: str | None = None, seed: int | None = None,
                  overrides: Mapping[str, Any] | None = None, keep_results: bool = False,
                  progress: bool | None = False) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run scenarios (a list, or ``{label: scenario}``) -> (table, ``{label: Result}`` if kept)."""
    if isinstance(scenarios, (str, Path)) or not isinstance(scenarios, (Mapping, list, tuple)):
        scenarios = [scenarios]
    if isinstance(scenarios, Mapping):
        labels, items = [str(k) for k in scenarios], list(scenarios.values())
    else:
        items = list(scenarios)
        labels = _unique(_label(s, i) for i, s in enumerate(items, start=1))
    if not items:
        raise ConfigError("nothing to compare: give at least one scenario")
    # Validate every scenario here, so a typo fails before anything runs.
    scens = [load_scenario(s, dict(overrides or {}), seed=seed) for s in items]
    tasks = [Task(lab, sc, keep_result=keep_results) for lab, sc in zip(labels, scens)]
    bar = Progress(total=len(tasks), label="runs", enabled=progress)
    try:
        outcomes = run_many(tasks, executor=executor, workers=workers, scheduler=scheduler,
                            on_done=lambda o: bar.advance())
    finally:
        bar.close()
    rows = []
    for lab, sc in zip(labels, scens):
        o = outcomes[lab]
        rows.append({"scenario": lab, **summary_row(o.summary or {}), "seed": sc.seed, "error": o.error})
    results = {lab: outcomes[lab].result for lab in labels if outcomes[lab].result is not None}
    return pd.DataFrame(rows), results


def compare(scenarios_or_sweep: Any, *, executor: str = "local", workers: int | None = None,
            scheduler: str | None = None, seed: int | None = None,
            overrides: Mapping[str, Any] | None = None, progress: bool | None = False) -> pd.DataFrame:
    """Run scenarios or a sweep and return one row per run: parameters and summary metrics.

    ``scenarios_or_sweep`` is a scenario (path, dict or Scenario), a list of
    them, a ``{label: scenario}`` dict, a ``memsim.studies.sweep.Sweep``, or the path of a
    sweep file (a YAML mapping with a ``base:`` key).  Scenario rows carry a
    ``scenario`` label column; sweep rows one column per varied dotted path.

        >>> memsim.compare({"lru": "a.yaml", "s3fifo": "b.yaml"})[["scenario", "ttft_p50_s"]]  # doctest: +SKIP
    """
    if isinstance(scenarios_or_sweep, (str, Path)) and is_sweep_file(scenarios_or_sweep):
        scenarios_or_sweep = load_sweep(scenarios_or_sweep)
    if isinstance(scenarios_or_sweep, Sweep):
        if seed is not None or overrides:
            raise ConfigError("seed and overrides apply to scenarios; a sweep sets them in its file "
                              "(seeds:, grid:, zip:)")
        return run_sweep(scenarios_or_sweep, executor=executor, workers=workers, scheduler=scheduler,
                         progress=progress).table
    df, _ = run_scenarios(scenarios_or_sweep, executor=executor, workers=workers, scheduler=scheduler,
                          seed=seed, overrides=overrides, progress=progress)
    return df
