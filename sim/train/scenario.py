"""The ``kind: train`` scenario: one training step of a model on one node.

A strict YAML mapping (unknown keys are errors) that ``memsim train`` also builds
from its flags.  It says what is trained (model, batch, sequence length,
precision), how it is split (data / tensor / pipeline parallelism, ZeRO stage)
and where each state class lives (``placement``: fractions of ``params``,
``grads``, ``optimizer`` and ``activations`` per tier of the platform).  Checks
that need the platform or the model (tier names, divisibility) run in
``sim.train.layout.resolve``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel, load_yaml
from memsim.ground.units import Size
from memsim.sim.scenario_file import ScenarioFile, build

__all__ = ["TrainScenario", "Parallelism", "Precision", "Placement", "Checkpointing",
           "MemoryLimits", "STATE_CLASSES", "load_train_scenario", "BYTES"]

STATE_CLASSES = ("params", "grads", "optimizer", "activations")
"""The four classes of training memory, in the order reports list them."""

BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
DType = Literal["fp32", "bf16", "fp16", "fp8", "int8"]


#: micro-batches one optimizer step may have (global_batch / micro_batch): the step's
#: pipeline schedule lists each one, about 4 ms of wall time apiece, so 16,384 is a minute
MAX_MICRO_BATCHES = 16_384
#: tokens per sequence (8x the longest context in the catalogue); past ~4M the memory
#: search runs for minutes
MAX_SEQ_LEN = 1 << 20

class Precision(StrictModel):
    """Element types of each state (ZeRO's mixed-precision Adam is the default: K = 12).

    ``compute``: the working copy of the weights and the GEMM dtype; ``grads``: the
    gradient buffers; ``master``: the optimizer's copy of the weights (``none`` for
    pure low-precision training); ``optimizer``: ``adam`` keeps two moments,
    ``sgd`` one (momentum); ``states``: the moments' dtype (``int8`` for 8-bit Adam).
    """

    compute: Literal["bf16", "fp16", "fp32", "fp8"] = "bf16"
    grads: DType = "bf16"
    master: Union[DType, Literal["none"]] = "fp32"
    optimizer: Literal["adam", "sgd"] = "adam"
    states: DType = "fp32"
    activations: Literal["bf16", "fp16", "fp32"] = "bf16"

    @property
    def optimizer_bytes_per_param(self) -> int:
        """ZeRO's K: master copy plus moments, bytes per parameter."""
        master = 0 if self.master == "none" else BYTES[self.master]
        moments = 2 if self.optimizer == "adam" else 1
        return master + moments * BYTES[self.states]


class Parallelism(StrictModel):
    """``dp`` x ``tp`` x ``pp`` accelerators of one node; ``dp`` defaults to the rest of it."""

    dp: Optional[int] = Field(default=None, ge=1)
    tp: int = Field(default=1, ge=1)
    pp: int = Field(default=1, ge=1)
    zero_stage: Literal[0, 1, 2, 3] = 0
    sequence_parallel: bool = True
    """Megatron sequence parallelism: norms and dropout work on 1/tp of the tokens."""
    schedule: Literal["1f1b", "gpipe"] = "1f1b"


def _fractions(value) -> dict[str, float]:
    if isinstance(value, str):
        return {value: 1.0}
    if not isinstance(value, dict) or not value:
        raise ConfigError("expected a tier name or a mapping of tier names to fractions, "
                          "e.g. {hbm: 0.5, dram: 0.5}")
    out = {}
    for tier, frac in value.items():
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac <= 1:
            raise ConfigError(f"fraction {frac!r} must be a number in [0, 1]", field=str(tier))
        out[str(tier)] = float(frac)
    total = sum(out.values())
    if abs(total - 1.0) > 1e-9:
        raise ConfigError(f"fractions sum to {total:.6g} ({total:.4%}); they must sum to 1")
    return {t: f for t, f in out.items() if f > 0}


class Placement(StrictModel):
    """Where each state class lives: a tier name, or fractions per tier summing to 1.

    ``optimizer: dram`` is ZeRO-Offload (the optimizer step runs on the CPU);
    ``params: ssd`` with ``optimizer: ssd`` is ZeRO-Infinity's NVMe offload;
    ``activations: {hbm: 0.5, dram: 0.5}`` offloads half the stored activations
    after each layer's forward and fetches them back before its backward.
    """

    params: dict[str, float] = Field(default_factory=lambda: {"hbm": 1.0})
    grads: dict[str, float] = Field(default_factory=lambda: {"hbm": 1.0})
    optimizer: dict[str, float] = Field(default_factory=lambda: {"hbm": 1.0})
    activations: dict[str, float] = Field(default_factory=lambda: {"hbm": 1.0})

    @field_validator(*STATE_CLASSES, mode="before")
    @classmethod
    def _frac(cls, v):
        return _fractions(v)

    def off(self, state: str, hbm: str = "hbm") -> float:
        """Fraction of ``state`` that is not on the accelerator tier ``hbm``."""
        return 1.0 - getattr(self, state).get(hbm, 0.0)


class Checkpointing(StrictModel):
    """Activation checkpointing: which activations are kept for the backward pass.

    ``none``: every tensor the backward needs.  ``full``: each layer's input only,
    the layer is recomputed before its backward.  ``selective``: everything but the
    attention scores, whose computation is redone ("Reducing Activation
    Recomputation in Large Transformer Models").  ``every: k``: the input of every
    k-th layer, segments of k layers recomputed ("Training Deep Nets with Sublinear
    Memory Cost"); ``sqrt`` is ``every: round(sqrt(layers per stage))``.
    """

    scheme: Literal["none", "full", "selective", "every", "sqrt"] = "none"
    every: Optional[int] = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, v):
        if isinstance(v, str):
            return {"scheme": v}
        if isinstance(v, dict) and "every" in v and "scheme" not in v:
            return {"scheme": "every", **v}
        return v

    @model_validator(mode="after")
    def _k(self):
        if self.scheme == "every" and self.every is None:
            raise ConfigError("scheme every needs every: k (layers per segment)", field="every")
        if self.scheme != "every" and self.every is not None:
            raise ConfigError(f"every applies only to scheme every (got scheme {self.scheme})",
                              field="every")
        return self

    def label(self) -> str:
        return f"every {self.every}" if self.scheme == "every" else self.scheme


class MemoryLimits(StrictModel):
    """What the plan may use: ``reserve`` per accelerator is held back (CUDA context,
    allocator slack; memsim does not model them); the others cap a tier below the
    platform's capacity."""

    reserve: Size = 0
    hbm: Optional[Size] = None
    dram: Optional[Size] = None
    cxl: Optional[Size] = None
    ssd: Optional[Size] = None

    @model_validator(mode="after")
    def _pos(self):
        for f in ("hbm", "dram", "cxl", "ssd"):
            v = getattr(self, f)
            if v is not None and v <= 0:
                raise ConfigError("must be > 0", field=f)
        if self.reserve < 0:
            raise ConfigError("must be >= 0", field="reserve")
        return self


class TrainScenario(ScenarioFile):
    """One optimizer step of ``model`` on one node of ``platform``."""

    kind: Literal["train"]
    name: str = "train"
    platform: str
    model: str
    global_batch: int = Field(ge=1)
    """Sequences per optimizer step, over all data-parallel ranks."""
    micro_batch: int = Field(default=1, ge=1)
    """Sequences per accelerator per forward/backward (gradient accumulation fills the rest)."""
    seq_len: int = Field(ge=1, le=MAX_SEQ_LEN)
    precision: Precision = Field(default_factory=Precision)
    parallelism: Parallelism = Field(default_factory=Parallelism)
    placement: Placement = Field(default_factory=Placement)
    checkpointing: Checkpointing = Field(default_factory=Checkpointing)
    activation_offload: Literal["uniform", "selective"] = "uniform"
    """How ``placement.activations`` applies per pipeline stage: ``uniform`` offloads that fraction
    everywhere; ``selective`` (PipeOffload) offloads it of the micro-batches that wait for their
    backward, (n - 1)/n of a stage holding n in flight, nothing on the last 1F1B stage."""
    attention: Literal["flash", "eager"] = "flash"
    """flash never stores the seq_len^2 scores; eager keeps the softmax output."""
    dropout: bool = False
    """Keep dropout masks (GPT-style pre-training); fine-tuning recipes turn dropout off."""
    memory: MemoryLimits = Field(default_factory=MemoryLimits)
    search: bool = False
    """Ignore parallelism.zero_stage, placement, checkpointing and micro_batch; find the fastest that fits."""

    @model_validator(mode="after")
    def _batch(self):
        if self.global_batch / self.micro_batch > MAX_MICRO_BATCHES:
            # the step simulates every micro-batch (its pipeline schedule): work grows with this
            raise ConfigError(f"global_batch / micro_batch = {self.global_batch / self.micro_batch:,.0f} "
                              f"micro-batches per step; at most {MAX_MICRO_BATCHES:,} are simulated "
                              "(raise micro_batch)", field="global_batch")
        if self.micro_batch > self.global_batch:
            raise ConfigError(f"micro_batch={self.micro_batch} is larger than global_batch="
                              f"{self.global_batch}", field="micro_batch")
        return self


def load_train_scenario(path: str | Path) -> TrainScenario:
    """Read a ``kind: train`` scenario; errors name the file and the field."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at the top level", file=str(path))
    if data.get("kind") != "train":
        raise ConfigError(f"kind {data.get('kind')!r} is not train (memsim train runs kind: train "
                          "scenarios)", file=str(path), field="kind")
    return build({"train": TrainScenario}, path)
