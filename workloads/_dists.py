"""Vectorised samplers for the synthetic generator: lengths, times and arrival gaps.

Each ``*_sampler(spec, rng)`` returns ``draw(n) -> numpy array``, so a chunk of
65,536 requests costs a few numpy calls, never one Python RNG call per request.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from memsim.ground.errors import ConfigError

from ._lines import check_file, resolve_path
from .azure import read_azure_rows
from .mooncake import read_mooncake_rows
from .spec import (
    BurstArrivals,
    EmpiricalTokens,
    ExponentialTime,
    FixedTime,
    FixedTokens,
    GammaArrivals,
    LognormalTime,
    LognormalTokens,
    NormalTime,
    NormalTokens,
    PoissonArrivals,
    UniformArrivals,
    UniformTime,
    UniformTokens,
)

__all__ = ["token_sampler", "time_sampler", "arrival_sampler", "empirical_lengths"]

Draw = Callable[[int], np.ndarray]
_HUGE_TOKENS = 1 << 40


def token_sampler(spec, rng: np.random.Generator, *, base_dir: Path | None = None,
                  field: str = "input") -> Draw:
    """``draw(n)`` -> int64 token counts (also used for turn counts)."""
    if isinstance(spec, FixedTokens):
        v = spec.value
        return lambda n: np.full(n, v, dtype=np.int64)
    if isinstance(spec, UniformTokens):
        lo, hi = spec.low, spec.high
        return lambda n: rng.integers(lo, hi + 1, size=n, dtype=np.int64)
    lo, hi = spec.min, (spec.max if spec.max is not None else _HUGE_TOKENS)

    def clamp(x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(x), lo, hi).astype(np.int64)

    if isinstance(spec, LognormalTokens):
        mu, sigma = math.log(spec.mean) - spec.sigma ** 2 / 2, spec.sigma
        return lambda n: clamp(rng.lognormal(mu, sigma, size=n))
    if isinstance(spec, NormalTokens):
        mean, std = spec.mean, spec.std
        return lambda n: clamp(rng.normal(mean, std, size=n))
    if isinstance(spec, EmpiricalTokens):
        values = empirical_lengths(spec, base_dir=base_dir, field=spec.field or field)
        values = np.clip(values, lo, hi)
        return lambda n: values[rng.integers(0, len(values), size=n)]
    raise TypeError(f"not a token distribution: {spec!r}")


def empirical_lengths(spec: EmpiricalTokens, *, base_dir: Path | None, field: str) -> np.ndarray:
    """All input (or output) lengths of a Mooncake or Azure trace, in file order."""

    path = resolve_path(spec.path, base_dir)
    fmt = spec.format or {".jsonl": "mooncake", ".csv": "azure"}.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the format of {spec.path!r} from its suffix; "
                          "add format: mooncake or format: azure", field="format")
    check_file(path, spec.path)
    rows = (read_mooncake_rows(path, hash_block_tokens=None) if fmt == "mooncake"
            else read_azure_rows(path))
    col = 1 if field == "input" else 2
    out = np.fromiter((r[col] for r in rows), dtype=np.int64)
    if len(out) == 0:
        raise ConfigError("empty trace: no requests to sample lengths from", file=str(path))
    return out


def time_sampler(spec, rng: np.random.Generator) -> Draw:
    """``draw(n)`` -> float64 seconds, all >= 0."""
    if isinstance(spec, FixedTime):
        v = spec.value
        return lambda n: np.full(n, v)
    if isinstance(spec, UniformTime):
        lo, hi = spec.low, spec.high
        return lambda n: rng.uniform(lo, hi, size=n)
    if isinstance(spec, LognormalTime):
        mu, sigma = math.log(spec.mean) - spec.sigma ** 2 / 2, spec.sigma
        return lambda n: rng.lognormal(mu, sigma, size=n)
    if isinstance(spec, NormalTime):
        mean, std = spec.mean, spec.std
        return lambda n: np.maximum(rng.normal(mean, std, size=n), 0.0)
    if isinstance(spec, ExponentialTime):
        mean = spec.mean
        return lambda n: rng.exponential(mean, size=n)
    raise TypeError(f"not a time distribution: {spec!r}")


def arrival_sampler(spec, rng: np.random.Generator) -> Draw:
    """``draw(n)`` -> the next ``n`` arrival times; the first call starts at 0 s."""
    state = {"t": 0.0, "i": 0}
    if isinstance(spec, PoissonArrivals):
        mean = 1.0 / spec.rate

        def gaps(n, i0):
            return rng.exponential(mean, size=n)
    elif isinstance(spec, GammaArrivals):
        shape = 1.0 / spec.cv ** 2
        scale = 1.0 / (spec.rate * shape)

        def gaps(n, i0):
            return rng.gamma(shape, scale, size=n)
    elif isinstance(spec, UniformArrivals):
        step = 1.0 / spec.rate

        def gaps(n, i0):
            return np.full(n, step)
    elif isinstance(spec, BurstArrivals):
        b, mean = spec.burst_size, spec.burst_size / spec.rate

        def gaps(n, i0):
            g = np.zeros(n)
            heads = np.flatnonzero((np.arange(i0, i0 + n) % b) == 0)
            g[heads] = rng.exponential(mean, size=len(heads))
            return g
    else:
        raise TypeError(f"not an arrival process: {spec!r}")

    def draw(n: int) -> np.ndarray:
        g = gaps(n, state["i"])
        if state["i"] == 0 and n:
            g[0] = 0.0
        t = state["t"] + np.cumsum(g)
        state["t"] = float(t[-1]) if n else state["t"]
        state["i"] += n
        return t
    return draw
