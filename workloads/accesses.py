"""Access sequences for cache replay: object ids (and sizes, times) as numpy arrays.

Four formats: ``mooncake`` (every request's ``hash_ids`` in file order, one block
each), ``ids`` (one integer id per line), ``oracle`` (libCacheSim oracleGeneral
binary records) and ``csv`` (named id/size/time columns).  Files are read in
chunks; a malformed row raises ``TraceError`` naming the file and line.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from itertools import islice
from typing import Optional

import numpy as np

from memsim.ground.errors import ConfigError, TraceError

__all__ = ["Accesses", "read_accesses", "write_oracle", "FORMATS", "ORACLE_DTYPE"]

FORMATS = ("mooncake", "ids", "oracle", "csv")

#: libCacheSim oracleGeneral record: uint32 time, uint64 id, uint32 size, int64 next access.
ORACLE_DTYPE = np.dtype([("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
assert ORACLE_DTYPE.itemsize == 24

_CHUNK = 1 << 20


@dataclass
class Accesses:
    """One access per element: ``ids`` (int64), optional ``sizes`` (int64, the trace's
    unit: 1 block for mooncake/ids, bytes for oracle) and ``times_s`` (float seconds)."""

    ids: np.ndarray
    sizes: Optional[np.ndarray] = None
    times_s: Optional[np.ndarray] = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.ids)


def read_accesses(path, *, format: str, id_column: str | None = None,
                  size_column: str | None = None, time_column: str | None = None) -> Accesses:
    """Read a whole access sequence from ``path`` in the named ``format``."""
    path = str(path)
    if format not in FORMATS:
        raise ConfigError(f"unknown trace format {format!r}; known: {', '.join(FORMATS)}",
                          field="format")
    if not os.path.exists(path):
        raise TraceError("no such file", file=path)
    if format != "csv" and (id_column or size_column or time_column):
        raise ConfigError("--id-column/--size-column/--time-column apply to --format csv only",
                          field="format")
    reader = {"mooncake": _read_mooncake, "ids": _read_ids, "oracle": _read_oracle,
              "csv": lambda p: _read_csv(p, id_column, size_column, time_column)}[format]
    acc = reader(path)
    if len(acc) == 0:  # a hit ratio over nothing is meaningless: say so instead of printing 0
        raise TraceError("empty trace: no accesses", file=path)
    acc.source = path
    return acc


def _bad_int_line(lines, first_line: int, path: str):
    for j, s in enumerate(lines):
        t = s.strip()
        try:
            int(t)
        except ValueError:
            what = "empty line" if not t else f"{t[:40]!r} is not an integer id"
            raise TraceError(what, file=path, line=first_line + j) from None
    raise AssertionError("chunk failed to parse but every line is an integer")


def _read_ids(path: str) -> Accesses:
    parts = []
    line_no = 1
    with open(path, encoding="utf-8", errors="replace") as f:
        while True:
            lines = list(islice(f, _CHUNK))
            if not lines:
                break
            if lines[-1] and not lines[-1].endswith("\n") and not lines[-1].strip():
                lines.pop()
            try:
                parts.append(np.array([int(s) for s in lines], dtype=np.int64))
            except (ValueError, OverflowError):
                _bad_int_line(lines, line_no, path)
            line_no += len(lines)
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return Accesses(ids=ids)


def _read_mooncake(path: str) -> Accesses:
    ids: list[int] = []
    times: list[float] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise TraceError(f"not a JSON object ({e.msg}; truncated line?)",
                                 file=path, line=n) from None
            except RecursionError:   # Python's decoder recurses once per nesting level
                raise TraceError("not a trace row: JSON nested too deep", file=path, line=n) from None
            if not isinstance(row, dict) or "hash_ids" not in row:
                raise TraceError("row has no hash_ids", file=path, line=n)
            h = row["hash_ids"]
            if not isinstance(h, list) or not all(type(v) is int for v in h):
                raise TraceError("hash_ids must be a list of integers", file=path, line=n)
            t = row.get("timestamp", 0)
            if not isinstance(t, (int, float)) or isinstance(t, bool):
                raise TraceError(f"timestamp {t!r} is not a number (milliseconds)",
                                 file=path, line=n)
            ids.extend(h)
            times.extend([t / 1000.0] * len(h))
    return Accesses(ids=np.array(ids, dtype=np.int64), sizes=None,
                    times_s=np.array(times, dtype=np.float64))


def _read_oracle(path: str) -> Accesses:
    size = os.path.getsize(path)
    if size % ORACLE_DTYPE.itemsize:
        raise TraceError(f"{size} bytes is not a whole number of 24-byte oracleGeneral records "
                         "(<IQIq: uint32 time, uint64 id, uint32 size, int64 next access); "
                         "truncated or not an oracleGeneral file", file=path)
    rec = np.memmap(path, dtype=ORACLE_DTYPE, mode="r") if size else np.zeros(0, ORACLE_DTYPE)
    ids = np.empty(len(rec), np.int64)
    sizes = np.empty(len(rec), np.int64)
    times = np.empty(len(rec), np.float64)
    for lo in range(0, len(rec), _CHUNK):
        chunk = rec[lo:lo + _CHUNK]
        ids[lo:lo + len(chunk)] = chunk["id"].view(np.int64)
        sizes[lo:lo + len(chunk)] = chunk["size"]
        times[lo:lo + len(chunk)] = chunk["time"]
    bad = np.flatnonzero(sizes <= 0)
    if bad.size:  # an object of no size cannot occupy a cache
        raise TraceError(f"record {int(bad[0]) + 1}: object size {int(sizes[bad[0]])}; sizes must be > 0",
                         file=path)
    return Accesses(ids=ids, sizes=sizes, times_s=times)


def write_oracle(path, ids, sizes=None, times_s=None) -> None:
    """Write ids (and sizes, integer times) as libCacheSim oracleGeneral records."""
    ids = np.asarray(ids, np.int64)
    order = np.lexsort((np.arange(len(ids)), ids))      # by id, then by position
    nx = np.full(len(ids), -1, np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    nx[order[:-1][same]] = order[1:][same]              # next position of the same id
    rec = np.zeros(len(ids), ORACLE_DTYPE)
    rec["time"] = np.arange(len(ids)) if times_s is None else np.asarray(times_s).astype(np.uint32)
    rec["id"] = ids.view(np.uint64)
    rec["size"] = 1 if sizes is None else np.asarray(sizes)
    rec["next"] = nx
    rec.tofile(str(path))


def _read_csv(path: str, id_column, size_column, time_column) -> Accesses:
    import pandas as pd
    id_column = id_column or "id"
    cols = [c for c in (id_column, size_column, time_column) if c]
    try:
        header = pd.read_csv(path, nrows=0).columns.tolist()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise TraceError(f"cannot read CSV header: {e}", file=path, line=1) from None
    for c in cols:
        if c not in header:
            raise TraceError(f"no column {c!r}; columns: {', '.join(map(str, header))}",
                             file=path, line=1)
    out = {c: [] for c in cols}
    first = 0
    try:
        for chunk in pd.read_csv(path, usecols=cols, dtype=str, chunksize=_CHUNK,
                                 keep_default_na=False):
            for c in cols:
                vals = chunk[c].to_numpy()
                kind = np.float64 if c == time_column else np.int64
                try:
                    out[c].append(np.array([kind(v) if kind is np.float64 else int(v)
                                            for v in vals], dtype=kind))
                except (ValueError, OverflowError):
                    for j, v in enumerate(vals):
                        try:
                            kind(v) if kind is np.float64 else int(v)
                        except (ValueError, OverflowError):
                            noun = "a number" if kind is np.float64 else "an integer"
                            what = "missing value (truncated line?)" if v == "" else \
                                f"{str(v)[:40]!r} is not {noun}"
                            raise TraceError(f"column {c!r}: {what}", file=path,
                                             line=first + j + 2) from None
            first += len(chunk)
    except UnicodeDecodeError as e:
        raise TraceError(f"not UTF-8 text (byte {e.start} of a chunk)", file=path) from None
    except pd.errors.ParserError as e:
        raise TraceError(f"malformed CSV: {e}", file=path) from None
    arr = {c: (np.concatenate(v) if v else np.zeros(0)) for c, v in out.items()}
    sizes = arr[size_column] if size_column else None
    if sizes is not None and len(sizes) and sizes.min() <= 0:
        j = int(np.argmin(sizes))
        raise TraceError(f"column {size_column!r}: size {int(sizes[j])} must be > 0",
                         file=path, line=j + 2)
    return Accesses(ids=arr[id_column].astype(np.int64), sizes=sizes,
                    times_s=arr[time_column] if time_column else None)
