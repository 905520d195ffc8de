"""Kernel profiles: measured kernel latencies in memsim's profile format.

A profile is a folder with up to four tables (Parquet, or CSV with the same columns),
the columns of NVIDIA aisimulate's perf data as kept in ``../shared/gpu-kernels``:

    gemm                  m, n, k, latency_ms
    context_attention     kernel_source, batch_size, seq_len, num_heads, num_key_value_heads,
                          head_dim, kv_cache_dtype, window_size, latency_ms
    generation_attention  kernel_source, batch_size, kv_len, num_heads, num_key_value_heads,
                          head_dim, kv_cache_dtype, window_size, latency_ms
    all_reduce            nccl_dtype, num_gpus, message_elems, latency_ms

Users may bring their own measurements in this format (``docs/calibration.md``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memsim.ground.errors import ConfigError

__all__ = ["KINDS", "COLUMNS", "load_profile", "profile_kinds"]

COLUMNS: dict[str, list[str]] = {
    "gemm": ["m", "n", "k", "latency_ms"],
    "context_attention": ["kernel_source", "batch_size", "seq_len", "num_heads", "num_key_value_heads",
                          "head_dim", "kv_cache_dtype", "window_size", "latency_ms"],
    "generation_attention": ["kernel_source", "batch_size", "kv_len", "num_heads", "num_key_value_heads",
                             "head_dim", "kv_cache_dtype", "window_size", "latency_ms"],
    "all_reduce": ["nccl_dtype", "num_gpus", "message_elems", "latency_ms"],
}
KINDS: tuple[str, ...] = tuple(COLUMNS)
_STRINGS = {"kernel_source", "kv_cache_dtype", "nccl_dtype"}


def _file_of(folder: Path, kind: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        f = folder / f"{kind}{ext}"
        if f.is_file():
            return f
    return None


def profile_kinds(folder: str | Path) -> list[str]:
    """The kernel kinds a profile folder has a table for, in ``KINDS`` order."""
    folder = Path(folder)
    return [k for k in KINDS if _file_of(folder, k) is not None]


def _read(path: Path, kind: str, where: dict | None = None) -> pd.DataFrame:
    where = {c: v for c, v in (where or {}).items() if c in COLUMNS[kind]}
    try:
        if path.suffix == ".parquet":
            # only the rows asked for: decoding a whole table costs more than a run's timing needs
            df = pd.read_parquet(path, filters=[(c, "==", v) for c, v in where.items()] or None)
        else:
            df = pd.read_csv(path)
            for c, v in where.items():
                df = df[df[c] == v]
    except Exception as e:  # noqa: BLE001 - any reader failure is the file's fault
        raise ConfigError(f"cannot read kernel table: {str(e).splitlines()[0][:200]}", file=str(path)) from None
    missing = [c for c in COLUMNS[kind] if c not in df.columns]
    if missing:
        raise ConfigError(f"missing column(s) {', '.join(missing)}; a {kind} table has "
                          f"{', '.join(COLUMNS[kind])}", file=str(path))
    df = df[COLUMNS[kind]]
    for c in COLUMNS[kind]:
        if c in _STRINGS:
            if not (pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object):
                df[c] = df[c].astype(str)
            continue
        col = df[c]
        vals = (col if pd.api.types.is_numeric_dtype(col) else pd.to_numeric(col, errors="coerce")).to_numpy(float)
        # window_size may be 0 (full attention); every other number must be positive
        bad = ~(vals >= 0) if c == "window_size" else ~(vals > 0)
        if bad.any():
            i = int(bad.nonzero()[0][0])
            raise ConfigError(f"row {i}: {c}={col.iloc[i]!r} is not a positive number", file=str(path))
        if c == "latency_ms" or col.dtype != np.int64:
            df[c] = vals if c == "latency_ms" else vals.astype("int64")
    if df.empty and not where:
        raise ConfigError("kernel table has no rows", file=str(path))
    return df


def load_profile(folder: str | Path, kinds=None, where: dict | None = None) -> dict[str, pd.DataFrame]:
    """``{kind: DataFrame}`` of every table in ``folder`` (only ``kinds`` if given; only the
    rows whose columns equal ``where``'s values, for the tables that have those columns).

    A missing folder, an unreadable table or a wrong column is a one-line ConfigError.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"kernel profile folder {str(folder)!r} does not exist", field="kernels")
    out = {}
    for kind in kinds or KINDS:
        f = _file_of(folder, kind)
        if f is not None:
            out[kind] = _read(f, kind, where)
    if not out:
        raise ConfigError(f"no kernel tables in {folder} (expected {', '.join(k + '.parquet' for k in KINDS)})",
                          field="kernels")
    return out
