"""memsim's engine: units, config, SimPy resources, the serving loop, metrics, CLI.

    >>> import sim
    >>> result = sim.run("scenarios/quickstart.yaml")      # doctest: +SKIP
    >>> result.summary["ttft_p50_s"]                         # doctest: +SKIP

The engine's names load lazily so that ``sim.units`` and ``sim.errors`` can be
imported by ``policies``, ``workloads`` and ``hwmodels`` without the engine.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "run": "sim.engine", "Result": "sim.result", "load_result": "sim.result",
    "Scenario": "sim.config", "load_scenario": "sim.config", "compare": "sim.compare",
    "MemsimError": "sim.errors", "ConfigError": "sim.errors", "TraceError": "sim.errors",
    "SimulationError": "sim.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
