"""Workloads: the model catalogue, trace readers and synthetic request generators.

``open_workload(spec, base_dir=..., seed=...)`` streams ``Request`` objects from a
Mooncake JSONL, Azure CSV, generic CSV/Parquet trace or a seeded synthetic
generator; the first request is read before it returns, so a missing, empty or
garbled file fails before a simulation starts.  See docs/workloads.md.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memsim.ground.errors import ConfigError

from ._lines import TRACE_DIR_ENV, check_file, resolve_path
from ._stream import windowed
from .azure import read_azure_rows
from .model import ModelSpec, list_models, load_model
from .mooncake import read_mooncake_rows
from .request import Request
from .spec import AzureSpec, CsvSpec, MooncakeSpec, ParquetSpec, SyntheticSpec, WorkloadSpec, parse_workload_spec
from .synthetic import generate, write_mooncake_like
from .tabular import read_csv_rows, read_parquet_rows

__all__ = ["Request", "WorkloadSpec", "open_workload", "parse_workload_spec",
           "load_model", "list_models", "ModelSpec", "write_mooncake_like", "TRACE_DIR_ENV"]


def open_workload(spec: WorkloadSpec | dict[str, Any], *, base_dir: str | Path | None = None,
                  seed: int = 0) -> Iterator[Request]:
    """Stream the requests of ``spec`` in arrival order, ids 0..n-1.

    ``spec`` is a validated ``WorkloadSpec`` or a plain mapping (validated here).
    ``base_dir`` is the folder relative trace paths start from (the scenario
    file's folder); ``seed`` drives synthetic generators only.  Problems with the
    file or its first row raise ``TraceError`` here; later rows raise while
    streaming.
    """
    if isinstance(spec, dict):
        spec = parse_workload_spec(spec)
    elif not isinstance(spec, (SyntheticSpec, MooncakeSpec, AzureSpec, CsvSpec, ParquetSpec)):
        raise ConfigError(f"expected a workload mapping (kind: ...) or a WorkloadSpec, got "
                          f"{type(spec).__name__} {spec!r:.60}", field="workload")
    if base_dir is not None and (isinstance(base_dir, bool)
                                 or not isinstance(base_dir, (str, os.PathLike))):
        raise ConfigError(f"expected a folder path, got {type(base_dir).__name__} {base_dir!r:.60}",
                          field="base_dir")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        # a trace ignores the seed, but a wrong one is still a mistake worth naming
        raise ConfigError(f"seed={seed!r:.60} must be an integer >= 0 (below 2**63)", field="seed")
    if isinstance(spec, SyntheticSpec):
        stream = generate(spec, seed=seed, base_dir=None if base_dir is None else Path(base_dir))
    else:
        path = resolve_path(spec.path, base_dir)
        check_file(path, spec.path)
        bt, unit = 0, "line"
        if isinstance(spec, MooncakeSpec):
            rows, bt = read_mooncake_rows(path, hash_block_tokens=spec.hash_block_tokens), \
                spec.hash_block_tokens
        elif isinstance(spec, AzureSpec):
            rows = read_azure_rows(path)
        elif isinstance(spec, CsvSpec):
            rows, bt = read_csv_rows(path, spec), spec.hash_block_tokens
        elif isinstance(spec, ParquetSpec):
            rows, bt, unit = read_parquet_rows(path, spec), spec.hash_block_tokens, "row"
        else:
            raise TypeError(f"not a workload spec: {spec!r}")
        stream = windowed(rows, path=path, start_s=spec.start, end_s=spec.end,
                          time_scale=spec.time_scale, limit=spec.limit,
                          hash_block_tokens=bt, unit=unit)
    first = next(stream)
    return _chain(first, stream)


def _chain(first: Request, rest: Iterator[Request]) -> Iterator[Request]:
    yield first
    yield from rest
