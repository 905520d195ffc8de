"""memsim: a discrete-event simulator of memory hierarchies for LLM workloads.

    >>> import memsim
    >>> r = memsim.run("scenarios/quickstart.yaml")           # doctest: +SKIP
    >>> r.summary["ttft_p50_s"], r.requests.head()            # doctest: +SKIP
    >>> memsim.compare({"lru": "a.yaml", "s3fifo": "b.yaml"})  # doctest: +SKIP

This module is the public API; ``python -m memsim`` (or the ``memsim`` command) is
the CLI.  The layers below it, each importing only the ones under it:

    face     memsim (this module), memsim.cli, memsim.commands
    studies  memsim.reports, memsim.validate, memsim.studies (compare, sweep)
    engine   memsim.sim
    parts    memsim.policies, memsim.workloads, memsim.hwmodels
    ground   memsim.ground (errors, units, YAML schema, atomic files, progress, catalogue)

Names load on first use, so ``memsim --help`` does not pay for the engine.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from memsim.ground import __version__

if TYPE_CHECKING:   # what type checkers and editors see; at run time names load on first use
    from memsim import ground, hwmodels, policies, reports, scenarios, sim, studies, validate, workloads
    from memsim.ground.errors import ConfigError, MemsimError, SimulationError, TraceError
    from memsim.hwmodels import list_platforms, load_platform
    from memsim.policies.arguments import replay
    from memsim.policies.mrc import mrc
    from memsim.sim.config import Scenario, load_scenario
    from memsim.sim.engine import run
    from memsim.sim.result import Result, load_result
    from memsim.studies.compare import compare
    from memsim.studies.sweep import load_sweep, run_sweep
    from memsim.workloads import list_models, load_model, open_workload

#: public name -> the module that defines it
_API = {
    "run": "memsim.sim.kinds",            # any scenario kind (serve: memsim.sim.engine.run)
    "Result": "memsim.sim.result",
    "load_result": "memsim.sim.result",
    "Scenario": "memsim.sim.config",
    "load_scenario": "memsim.sim.kinds",
    "replay": "memsim.policies.arguments",   # memsim.policies.replay.replay, arguments checked
    "mrc": "memsim.policies.mrc",
    "load_platform": "memsim.hwmodels",
    "list_platforms": "memsim.hwmodels",
    "load_model": "memsim.workloads",
    "list_models": "memsim.workloads",
    "open_workload": "memsim.workloads",
    "compare": "memsim.studies.compare",
    "run_sweep": "memsim.studies.sweep",
    "load_sweep": "memsim.studies.sweep",
    "MemsimError": "memsim.ground.errors",
    "ConfigError": "memsim.ground.errors",
    "ConfigErrors": "memsim.ground.errors",
    "TraceError": "memsim.ground.errors",
    "SimulationError": "memsim.ground.errors",
}
#: subpackages reachable as attributes (``memsim.policies.register``, ``memsim.reports.render``)
_SUBPACKAGES = ("ground", "hwmodels", "policies", "workloads", "sim", "reports", "validate",
                "studies", "scenarios")

__all__ = sorted(_API) + list(_SUBPACKAGES) + ["__version__"]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"memsim.{name}")
    else:
        raise AttributeError(f"module 'memsim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
