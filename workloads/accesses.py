"""Access sequences for cache replay: object ids (and sizes, times) as numpy arrays.

Four formats: ``mooncake`` (every request's ``hash_ids`` in file order, one block
each), ``ids`` (one integer id per line), ``oracle`` (libCacheSim oracleGeneral
binary records) and ``csv`` (named id/size/time columns).  Files are read in
chunks; a malformed row raises ``TraceError`` naming the file and line.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from itertools import islice
from typing import Optional

import numpy as np

from memsim.ground.errors import ConfigError, TraceError

from ._lines import MAX_TOKENS

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
    if os.path.isdir(path):
        raise TraceError("is a directory, expected a trace file", file=path)
    if not os.access(path, os.R_OK):
        raise TraceError("cannot read: permission denied", file=path)
    if format != "csv" and (id_column or size_column or time_column):
        raise ConfigError("--id-column/--size-column/--time-column apply to --format csv only",
                          field="format")
    reader = {"mooncake": _read_mooncake, "ids": _read_ids, "oracle": _read_oracle,
              "csv": lambda p: _read_csv(p, id_column, size_column, time_column)}[format]
    try:
        acc = reader(path)
    except OSError as e:    # no read permission, a file that vanished, an I/O error
        raise TraceError(f"cannot read: {e.strerror or e}", file=path) from None
    if len(acc) == 0:  # a hit ratio over nothing is meaningless: say so instead of printing 0
        raise TraceError("empty trace: no accesses", file=path)
    acc.source = path
    return acc


_U64 = 1 << 64


def _id_array(texts, path: str, first_line: int, what: str = "") -> np.ndarray:
    """Block ids from text, as int64: integers 0..2**64-1 (a uint64 hash keeps its bits;
    ids are keys, compared only for equality).  Anything else is a TraceError at its line."""
    try:
        a = np.array([int(s) for s in texts], dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        vals = []
        for j, s in enumerate(texts):
            t = s.strip() if isinstance(s, str) else s
            try:
                v = int(t)
            except (ValueError, TypeError):
                problem = "empty line" if t == "" else f"{str(t)[:40]!r} is not an integer id"
                raise TraceError(what + problem, file=path, line=first_line + j) from None
            if not 0 <= v < _U64:
                raise TraceError(f"{what}id {v} is outside 0..2**64-1 (ids are unsigned 64-bit)",
                                 file=path, line=first_line + j) from None
            vals.append(v)
        return np.array(vals, dtype=np.uint64).view(np.int64)
    if len(a) and a.min() < 0:
        j = int(np.argmax(a < 0))
        raise TraceError(f"{what}id {int(a[j])} is negative; ids are integers 0..2**64-1",
                         file=path, line=first_line + j)
    return a


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
            parts.append(_id_array(lines, path, line_no))
            line_no += len(lines)
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return Accesses(ids=ids)


#: Mooncake lines parsed into Python lists before they become arrays: the lists (36 bytes an
#: id) stay this small, the arrays (8 bytes an id) hold the trace
_MOONCAKE_LINES = 1 << 13


def _read_mooncake(path: str) -> Accesses:
    id_parts: list[np.ndarray] = []
    time_parts: list[np.ndarray] = []
    ids: list[int] = []
    times: list[float] = []

    def flush() -> None:
        # ids are checked to lie in 0..2**64-1: as uint64 bits viewed as int64 (below 2**63 the
        # same values), no second pass over the ids to decide
        id_parts.append(np.array(ids, dtype=np.uint64).view(np.int64))
        time_parts.append(np.array(times, dtype=np.float64))
        ids.clear()
        times.clear()

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
            if h and not all(0 <= v < _U64 for v in h):
                bad = next(v for v in h if not 0 <= v < _U64)
                raise TraceError(f"hash_ids: id {bad} is outside 0..2**64-1", file=path, line=n)
            t = row.get("timestamp", 0)
            if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) \
                    or t < 0:
                raise TraceError(f"timestamp {t!r} is not a finite number of milliseconds >= 0",
                                 file=path, line=n)
            for key in ("input_length", "output_length"):
                # optional here, but when given, held to what ``memsim run`` accepts
                v = row.get(key, 1)
                if type(v) is not int or not 1 <= v <= MAX_TOKENS:
                    raise TraceError(f"{key} {v!r} is not an integer in 1..{MAX_TOKENS}",
                                     file=path, line=n)
            ids.extend(h)
            times.extend([t / 1000.0] * len(h))
            if n % _MOONCAKE_LINES == 0:
                flush()
    flush()
    out_ids = np.concatenate(id_parts)
    id_parts.clear()               # the chunks go before the times are joined
    return Accesses(ids=out_ids, sizes=None, times_s=np.concatenate(time_parts))


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


def _raw_header(path: str) -> list[str]:
    """The header's names as written (pandas renames a repeated name to ``name.1``)."""
    import csv
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except (UnicodeDecodeError, csv.Error):
        return []    # pandas reports what is wrong with it


def _read_csv(path: str, id_column, size_column, time_column) -> Accesses:
    import pandas as pd
    id_column = id_column or "id"
    cols = [c for c in (id_column, size_column, time_column) if c]
    try:
        header = pd.read_csv(path, nrows=0).columns.tolist()
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise TraceError(f"cannot read CSV header: {e}", file=path, line=1) from None
    raw_header = _raw_header(path)
    for c in cols:
        if raw_header.count(c) > 1:
            raise TraceError(f"column {c!r} appears {raw_header.count(c)} times; rename the copies "
                             "(which one is meant?)", file=path, line=1)
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
                if c == id_column:
                    out[c].append(_id_array(list(vals), path, first + 2, what=f"column {c!r}: "))
                    continue
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
