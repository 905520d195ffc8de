"""The scenario union: every scenario file names its ``kind`` (``serve`` when it does not).

``KINDS`` is the one table of kinds.  A kind is a model class (a ``ScenarioFile``
subclass with a ``kind: Literal["<name>"]`` field) and a runner function taking the
loaded model and returning that kind's result.  ``load_scenario`` reads any kind,
``run`` runs it (``memsim.run`` and ``memsim run`` use these), and ``schema`` is the
JSON Schema of the union (``memsim schema scenario``).

To add a kind, add one entry here, as ``train`` is::

    "train": Kind(TrainScenario, run_train, "a TrainResult"),

The runner may take keyword arguments ``out`` and/or ``progress``; ``run`` passes
only those it accepts and refuses the others by name.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import Discriminator, Tag, TypeAdapter

from memsim.ground.errors import ConfigError

from . import engine
from .config import Scenario, check_run_args
from .offload.scenario import FlashScenario, OffloadScenario, run_flash, run_offload
from .scenario_file import ScenarioFile, build
from .train.run import run_train
from .train.scenario import TrainScenario

__all__ = ["Kind", "KINDS", "load_scenario", "run", "run_loaded", "options", "schema",
           "kind_of"]


@dataclass(frozen=True)
class Kind:
    """One kind of scenario: what its file may say and what runs it."""
    model: type[ScenarioFile]
    runner: Callable[..., Any]
    returns: str
    """What ``runner`` (and so ``memsim.run``) returns, for docs and errors."""


KINDS: dict[str, Kind] = {
    "serve": Kind(Scenario, engine.run, "a Result (tables, summary; Result.save writes them)"),
    "flash": Kind(FlashScenario, run_flash, "a list of FlashRun, one per policy"),
    "offload": Kind(OffloadScenario, run_offload, "a dict summary of the placement"),
    "train": Kind(TrainScenario, run_train, "a TrainResult (memory per tier and state, step time)"),
}


def kind_of(scenario: ScenarioFile) -> str:
    """The kind name of a loaded scenario."""
    for name, k in KINDS.items():
        if isinstance(scenario, k.model):
            return name
    raise ConfigError(f"{type(scenario).__name__} is not a scenario model", field="scenario")


def load_scenario(source: Any, overrides: dict[str, Any] | None = None, *,
                  seed: int | None = None) -> ScenarioFile:
    """The model of any kind of scenario (a path, a shipped name, a dict, or a model),
    with ``overrides`` (``{"dotted.path": value}``) and ``seed`` applied."""
    return build({name: k.model for name, k in KINDS.items()}, source, overrides, seed=seed)


def run(scenario: Any, *, seed: int | None = None, overrides: dict[str, Any] | None = None,
        out: Any = None, progress: bool = False) -> Any:
    """Load ``scenario`` (any kind) and run it; returns what its kind's runner returns
    (serve: a Result; flash: a list of FlashRun; offload: a dict)."""
    check_run_args(out=out, progress=progress)
    return run_loaded(load_scenario(scenario, overrides, seed=seed), out=out, progress=progress)


def options(kind: str) -> set[str]:
    """Which of ``out``/``progress`` the runner of ``kind`` takes."""
    return set(inspect.signature(KINDS[kind].runner).parameters) & {"out", "progress"}


def run_loaded(scen: ScenarioFile, *, out: Any = None, progress: bool = False) -> Any:
    """Run a loaded scenario of any kind; an option its runner does not take is an error."""
    name = kind_of(scen)
    given = {"out": out, "progress": progress}
    default = {"out": None, "progress": False}
    for opt in sorted(set(given) - options(name)):
        if given[opt] != default[opt]:
            raise ConfigError(f"a kind: {name} run does not take {opt}= (it returns "
                              f"{KINDS[name].returns})", field=opt)
    return KINDS[name].runner(scen, **{k: given[k] for k in options(name)})


def _tag(v: Any) -> str:
    kind = v.get("kind", "serve") if isinstance(v, dict) else getattr(v, "kind", "serve")
    return kind if kind in KINDS else "serve"


def schema() -> dict:
    """JSON Schema of a scenario file of any kind."""
    union = Annotated[Union[tuple(Annotated[k.model, Tag(n)] for n, k in KINDS.items())],
                      Discriminator(_tag)]
    out = TypeAdapter(union).json_schema()
    out["title"] = "memsim scenario"
    out["description"] = ("A scenario file; `kind` selects its form: "
                          + ", ".join(f"{n} ({k.model.__name__})" for n, k in KINDS.items())
                          + ". serve is the default.")
    return out
