"""What a workload section of a scenario may say: pydantic models, unknown keys rejected.

``WorkloadSpec`` is a union discriminated on ``kind``: ``mooncake``, ``azure``,
``csv``, ``parquet`` (trace files) or ``synthetic`` (a seeded generator).  Token
counts are plain integers; times and rates carry units ("30 s", "5 req/s").
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel, validate
from memsim.ground.units import Duration, Rate

from ._stream import MAX_SPAN_S

#: requests a synthetic workload may generate (100x the 10-million-request scale benchmark)
MAX_REQUESTS = 1_000_000_000
#: requests ``duration`` x ``rate`` may imply (the scale benchmark's size, ~20 min of wall
#: time): more must be asked for by count, so a duration in the wrong unit cannot run for days
MAX_DURATION_REQUESTS = 10_000_000

__all__ = [
    "WorkloadSpec", "parse_workload_spec",
    "MooncakeSpec", "AzureSpec", "CsvSpec", "ParquetSpec", "SyntheticSpec",
    "ArrivalSpec", "TokenDist", "CountDist", "TimeDist", "SharedPrefixSpec", "SessionSpec",
]

Tokens = Annotated[int, Field(strict=True, ge=1)]
Count = Annotated[int, Field(strict=True, ge=1)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
PositiveRate = Annotated[Rate, Field(gt=0, allow_inf_nan=False)]
PositiveDuration = Annotated[Duration, Field(gt=0, allow_inf_nan=False)]
FiniteDuration = Annotated[Duration, Field(ge=0, allow_inf_nan=False)]


class _Spec(StrictModel):
    """StrictModel whose attribute docstrings become JSON Schema descriptions."""

    model_config = ConfigDict(use_attribute_docstrings=True)


# ---- trace files -------------------------------------------------------------------

class _TraceOptions(_Spec):
    """Options every trace kind shares (see docs/workloads.md, "Trace options")."""

    path: str
    """Trace file; relative paths resolve against the scenario file's folder."""
    limit: Optional[Count] = None
    """Keep at most this many requests (after the start/end window)."""
    time_scale: PositiveFloat = 1.0
    """Arrival speed-up: 2.0 replays the trace twice as fast (gaps halved)."""
    start: FiniteDuration = 0.0
    """Keep requests arriving at or after this offset from the trace's first row."""
    end: Optional[PositiveDuration] = None
    """Keep requests arriving before this offset from the trace's first row."""

    @field_validator("end")
    @classmethod
    def _window(cls, end, info: ValidationInfo):
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise ConfigError(f"end ({end:g} s) must be after start ({start:g} s)")
        return end


class MooncakeSpec(_TraceOptions):
    """Mooncake JSON Lines: timestamp (ms), input_length, output_length, hash_ids."""

    kind: Literal["mooncake"]
    hash_block_tokens: Tokens = 512


class AzureSpec(_TraceOptions):
    """Azure LLM inference CSV: TIMESTAMP, ContextTokens, GeneratedTokens."""

    kind: Literal["azure"]


class _TableColumns(_TraceOptions):
    arrival_column: str = "timestamp"
    time_unit: Literal["s", "ms", "us", "datetime"] = "s"
    input_column: str = "input_tokens"
    output_column: str = "output_tokens"
    hash_ids_column: Optional[str] = None
    hash_block_tokens: Tokens = 512


class CsvSpec(_TableColumns):
    """A CSV file with a header row; columns named by the options."""

    kind: Literal["csv"]
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","


class ParquetSpec(_TableColumns):
    """A Parquet file, read one row-group batch at a time."""

    kind: Literal["parquet"]


# ---- distributions -----------------------------------------------------------------

class _Clamp(_Spec):
    min: Tokens = 1
    max: Optional[Tokens] = None

    @field_validator("max")
    @classmethod
    def _order(cls, hi, info: ValidationInfo):
        lo = info.data.get("min")
        if hi is not None and lo is not None and hi < lo:
            raise ConfigError(f"max ({hi}) must be >= min ({lo})")
        return hi


class FixedTokens(_Spec):
    dist: Literal["fixed"]
    value: Tokens


class UniformTokens(_Spec):
    """Integers drawn uniformly from ``low..high`` inclusive."""

    dist: Literal["uniform"]
    low: Tokens
    high: Tokens

    @field_validator("high")
    @classmethod
    def _order(cls, high, info: ValidationInfo):
        low = info.data.get("low")
        if low is not None and high < low:
            raise ConfigError(f"high ({high}) must be >= low ({low})")
        return high


class LognormalTokens(_Clamp):
    """Lognormal with arithmetic ``mean`` and log-space ``sigma``; rounded, clamped."""

    dist: Literal["lognormal"]
    mean: PositiveFloat
    sigma: NonNegFloat = 1.0


class NormalTokens(_Clamp):
    dist: Literal["normal"]
    mean: PositiveFloat
    std: NonNegFloat


class EmpiricalTokens(_Clamp):
    """Lengths resampled (with replacement) from a trace file's rows."""

    dist: Literal["empirical"]
    path: str
    format: Optional[Literal["mooncake", "azure"]] = None
    """Trace format; default from the suffix (.jsonl -> mooncake, .csv -> azure)."""
    field: Optional[Literal["input", "output"]] = None
    """Which length to sample; default: the one this distribution describes."""


TokenDist = Annotated[Union[FixedTokens, UniformTokens, LognormalTokens, NormalTokens,
                            EmpiricalTokens], Field(discriminator="dist")]
CountDist = Annotated[Union[FixedTokens, UniformTokens, LognormalTokens, NormalTokens],
                      Field(discriminator="dist")]


class FixedTime(_Spec):
    dist: Literal["fixed"]
    value: FiniteDuration


class UniformTime(_Spec):
    dist: Literal["uniform"]
    low: FiniteDuration
    high: FiniteDuration

    @field_validator("high")
    @classmethod
    def _order(cls, high, info: ValidationInfo):
        low = info.data.get("low")
        if low is not None and high < low:
            raise ConfigError(f"high ({high:g} s) must be >= low ({low:g} s)")
        return high


class LognormalTime(_Spec):
    dist: Literal["lognormal"]
    mean: PositiveDuration
    sigma: NonNegFloat = 1.0


class NormalTime(_Spec):
    """Normal, clipped at 0 s."""

    dist: Literal["normal"]
    mean: FiniteDuration
    std: FiniteDuration


class ExponentialTime(_Spec):
    dist: Literal["exponential"]
    mean: PositiveDuration


TimeDist = Annotated[Union[FixedTime, UniformTime, LognormalTime, NormalTime, ExponentialTime],
                     Field(discriminator="dist")]


# ---- synthetic ---------------------------------------------------------------------

class PoissonArrivals(_Spec):
    process: Literal["poisson"]
    rate: PositiveRate


class GammaArrivals(_Spec):
    """Gamma inter-arrival gaps with coefficient of variation ``cv`` (1.0 = Poisson)."""

    process: Literal["gamma"]
    rate: PositiveRate
    cv: PositiveFloat = 1.0


class UniformArrivals(_Spec):
    """Evenly spaced arrivals, one every 1/rate seconds."""

    process: Literal["uniform"]
    rate: PositiveRate


class BurstArrivals(_Spec):
    """Groups of ``burst_size`` simultaneous arrivals; groups are Poisson at rate/burst_size."""

    process: Literal["burst"]
    rate: PositiveRate
    burst_size: Annotated[int, Field(strict=True, ge=2)]


ArrivalSpec = Annotated[Union[PoissonArrivals, GammaArrivals, UniformArrivals, BurstArrivals],
                        Field(discriminator="process")]


class SharedPrefixSpec(_Spec):
    """``prompts`` distinct system prompts of ``tokens`` tokens, chosen by Zipf popularity."""

    prompts: Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
    """Number of distinct system prompts."""
    tokens: Tokens
    """Tokens in each system prompt."""
    popularity: NonNegFloat = 1.0
    """Zipf exponent: prompt i (0-based) is chosen with weight 1/(i+1)**popularity."""
    fraction: Fraction = 1.0
    """Share of requests (or sessions) that start with a system prompt."""


class SessionSpec(_Spec):
    """Multi-turn conversations: each turn's prompt extends the previous turn's."""

    turns: CountDist
    """Turns per session (integers >= 1)."""
    think_time: TimeDist
    """User pause after a turn before the next one (seconds, with units)."""
    tool_call_fraction: Fraction = 0.0
    """Share of gaps that are tool calls (drawn from tool_gap instead of think_time)."""
    tool_gap: Optional[TimeDist] = None
    """Pause while a tool runs; required when tool_call_fraction > 0."""
    max_input_tokens: Optional[Tokens] = None
    """A session ends before a turn whose prompt would exceed this (turn 0 always runs)."""

    @model_validator(mode="after")
    def _tools(self):
        if self.tool_call_fraction > 0 and self.tool_gap is None:
            raise ConfigError("tool_gap is required when tool_call_fraction > 0")
        return self


class SyntheticSpec(_Spec):
    """A seeded generator of requests (see docs/workloads.md, "Synthetic")."""

    kind: Literal["synthetic"]
    num_requests: Optional[Annotated[int, Field(strict=True, ge=1, le=MAX_REQUESTS)]] = None
    """Stop after this many requests (give this or duration)."""
    duration: Optional[PositiveDuration] = None
    """Stop before the first request at or after this time (give this or num_requests)."""
    arrivals: ArrivalSpec
    """Arrival process of requests, or of sessions when sessions are given."""
    input_tokens: TokenDist
    """New prompt tokens per request (per turn in sessions), on top of any system prompt."""
    output_tokens: TokenDist
    """Generated tokens per request."""
    shared_prefix: Optional[SharedPrefixSpec] = None
    """System prompts shared across requests (their full blocks share hash ids)."""
    sessions: Optional[SessionSpec] = None
    """Multi-turn conversations; each turn's prompt is the whole conversation so far."""
    hash_block_tokens: Tokens = 512
    """Tokens per prefix-hash block (512, as in the Mooncake traces)."""

    @model_validator(mode="after")
    def _one_stop(self):
        if (self.num_requests is None) == (self.duration is None):
            raise ConfigError("give exactly one of num_requests or duration")
        return self

    @model_validator(mode="after")
    def _bounded(self):
        # refuse up front what could only run for ages: the work is per request, and a
        # span or a request count beyond these caps is a unit mistake, not a study
        rate = self.arrivals.rate
        if self.duration is not None:
            if self.duration > MAX_SPAN_S:
                raise ConfigError(f"{self.duration:.4g} s is longer than the {MAX_SPAN_S:.0e} s "
                                  "(317 years) a simulation may span", field="duration")
            if rate * self.duration > MAX_DURATION_REQUESTS:
                raise ConfigError(f"{rate:g} req/s for {self.duration:g} s is about "
                                  f"{rate * self.duration:.3g} requests; a duration may imply at "
                                  f"most {MAX_DURATION_REQUESTS:,} (give num_requests to run more)",
                                  field="duration")
        elif self.sessions is None and self.num_requests / rate > MAX_SPAN_S:
            # sessions: rate counts sessions, whose turns arrive later; the generator checks those
            raise ConfigError(f"{self.num_requests} requests at {rate:.4g} req/s span about "
                              f"{self.num_requests / rate:.4g} s, past the {MAX_SPAN_S:.0e} s "
                              "(317 years) a simulation may span (a rate in other units?)",
                              field="arrivals.rate")
        return self


WorkloadSpec = Annotated[Union[MooncakeSpec, AzureSpec, CsvSpec, ParquetSpec, SyntheticSpec],
                         Field(discriminator="kind")]


class _Holder(StrictModel):
    workload: WorkloadSpec


def parse_workload_spec(data: Any, *, file: str | Path | None = None,
                        field: str = "workload") -> WorkloadSpec:
    """Validate a workload mapping (e.g. from YAML); errors read ``FILE: workload.x: ...``."""
    holder = validate(_Holder, {"workload": data}, file=file)
    return holder.workload
