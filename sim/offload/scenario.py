"""Scenario files for weight streaming (``kind: flash``) and offload (``kind: offload``).

Both are strict YAML mappings (unknown keys are errors) that the ``memsim flash`` and
``memsim offload`` commands also build from their flags, so a file and a command line
mean the same run.  ``run_flash`` and ``run_offload`` execute them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from pydantic import Field, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel
from memsim.ground.units import Size
from memsim.hwmodels import load_platform
from memsim.policies import create, registry
from memsim.workloads.model import load_model

from ..scenario_file import Policy, ScenarioFile, build
from .activations import load_activations, synthetic_activations
from .flash import simulate_flash
from .flexgen import build_problem, evaluate, search

__all__ = ["FlashScenario", "OffloadScenario", "load_scenario", "run_flash", "run_offload",
           "flash_budget_bytes"]

MAX_SHARED_TRACE_BYTES = 2**29
"""A synthetic trace up to this size is drawn once and shared by every policy."""


class SyntheticActivations(StrictModel):
    """Markov activation trace: stationary ``activation_rate``; P(stay active) = ``correlation``."""

    activation_rate: float = Field(default=0.1, gt=0, le=1)
    correlation: float = Field(default=0.7, ge=0, le=1)


class FlashScenario(ScenarioFile):
    """LLM-in-a-flash weight streaming: policies compared on one activation trace."""

    kind: Literal["flash"]
    platform: str
    model: str
    policies: list[Policy("flash")] = Field(default_factory=lambda: ["naive", "windowing_bundling"],
                                       min_length=1)
    tokens: int = Field(default=64, ge=1)
    seed: int = Field(default=0, ge=0)
    activations: SyntheticActivations = Field(default_factory=SyntheticActivations)
    trace: Optional[str] = None
    """A ``.npy``/``.npz`` bool array [tokens, layers, neurons]; replaces ``activations``;
    a relative path resolves against the scenario file's folder."""
    dram: Optional[Size] = None
    """DRAM the model may use; default ``dram_fraction`` of the weights."""
    dram_fraction: Optional[float] = Field(default=None, gt=0)
    """DRAM budget as a fraction of the model's weight bytes (the paper uses about 0.5)."""
    queue_depth: Optional[int] = Field(default=None, ge=1)
    prompt_tokens: int = Field(default=0, ge=0)
    warmup_tokens: int = Field(default=5, ge=0)
    max_read: Size = 4 * 2**20

    @model_validator(mode="after")
    def _one_budget(self):
        if self.dram is not None and self.dram_fraction is not None:
            raise ConfigError("give dram or dram_fraction, not both", field="dram_fraction")
        if self.dram is not None and self.dram <= 0:
            raise ConfigError("must be > 0", field="dram")
        if self.max_read <= 0:
            raise ConfigError("must be > 0", field="max_read")
        return self


class OffloadScenario(ScenarioFile):
    """FlexGen-style offload of one batch: a given placement, or a search for the best."""

    kind: Literal["offload"]
    platform: str
    model: str
    batch: int = Field(ge=1)
    prompt_len: int = Field(ge=1)
    gen_len: int = Field(ge=1)
    placement: Optional[dict[str, Any]] = None
    """A ``flexgen`` policy spec (weights/kv/activations fractions, num_gpu_batches)."""

    @field_validator("placement")
    @classmethod
    def _placement(cls, v):
        if v is not None:
            if "name" in v:
                raise ConfigError("the placement is always flexgen's: drop `name`", field="name")
            registry.check_spec("offload", {"name": "flexgen", **v})
        return v
    search: bool = False
    gpu_memory: Optional[Size] = None
    cpu_memory: Optional[Size] = None
    disk: Optional[Size] = None

    @model_validator(mode="after")
    def _either(self):
        if self.search and self.placement is not None:
            raise ConfigError("give placement or search: true, not both", field="placement")
        for f in ("gpu_memory", "cpu_memory", "disk"):
            if getattr(self, f) is not None and getattr(self, f) <= 0:
                raise ConfigError("must be > 0", field=f)
        return self


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None, *,
                  seed: int | None = None) -> FlashScenario | OffloadScenario:
    """Read a ``kind: flash`` or ``kind: offload`` scenario; errors name the file and field."""
    return build({"flash": FlashScenario, "offload": OffloadScenario}, path, overrides,
                 seed=seed, elsewhere="memsim run FILE runs every kind")


def _trace_path(sc: FlashScenario) -> Path:
    trace = Path(sc.trace)
    return trace if trace.is_absolute() else sc.base_dir / trace


def flash_budget_bytes(sc: FlashScenario, model, memory_tier) -> int:
    """The DRAM budget: ``dram``, else ``dram_fraction`` (default 0.5) of the weights,
    never more than the memory tier holds."""
    cap = memory_tier.capacity_total
    if sc.dram is not None:
        if sc.dram > cap:
            raise ConfigError(f"{sc.dram} B exceeds the platform's {memory_tier.name} "
                              f"capacity ({cap} B)", field="dram")
        return int(sc.dram)
    frac = 0.5 if sc.dram_fraction is None else sc.dram_fraction
    return int(min(cap, frac * model.weight_bytes))


def run_flash(sc: FlashScenario) -> list:
    """Run every policy of ``sc`` on the same trace; returns one ``FlashRun`` each."""


    platform, model = load_platform(sc.platform), load_model(sc.model)
    mem = platform.tier_of_kind("dram")
    if mem is None:
        raise ConfigError(f"platform {platform.name} has no dram tier", field="platform")
    budget = flash_budget_bytes(sc, model, mem)
    pols = [create("flash", spec) for spec in sc.policies]

    def trace():
        if sc.trace is not None:
            return load_activations(_trace_path(sc), layers=model.layers, neurons=model.ffn,
                                    tokens=sc.tokens)
        return synthetic_activations(tokens=sc.tokens, layers=model.layers, neurons=model.ffn,
                                     activation_rate=sc.activations.activation_rate,
                                     correlation=sc.activations.correlation,
                                     rng=np.random.default_rng(sc.seed))

    shared = None          # draw the trace once when it is small enough to keep
    if len(pols) > 1 and sc.tokens * model.layers * model.ffn <= MAX_SHARED_TRACE_BYTES:
        shared = np.stack(list(trace()))
    runs = []
    for pol in pols:
        acts = shared if shared is not None else trace()
        runs.append(simulate_flash(platform=platform, model=model, policy=pol, activations=acts,
                                   dram_budget_bytes=budget, queue_depth=sc.queue_depth,
                                   max_read_bytes=sc.max_read, prompt_tokens=sc.prompt_tokens,
                                   warmup_tokens=sc.warmup_tokens, memory_tier=mem.name))
    return runs


def run_offload(sc: OffloadScenario) -> dict:
    """Evaluate the placement (or search for the best); one summary dict."""


    platform, model = load_platform(sc.platform), load_model(sc.model)
    caps = {"gpu_mem_bytes": sc.gpu_memory, "cpu_mem_bytes": sc.cpu_memory,
            "disk_bytes": sc.disk}
    shape = {"batch": sc.batch, "prompt_len": sc.prompt_len, "gen_len": sc.gen_len}
    if sc.search:
        pol, ev = search(platform=platform, model=model, **shape, **caps)
    else:
        pol = create("offload", {"name": "flexgen", **(sc.placement or {})})
        prob = build_problem(platform=platform, model=model, num_gpu_batches=pol.num_gpu_batches,
                             **shape, **caps)
        ev = {**evaluate(prob, pol), "num_gpu_batches": pol.num_gpu_batches}
    return {"platform": platform.name, "model": model.name, **shape, "search": sc.search,
            "policy": repr(pol), **ev}
