"""Generic table readers: a CSV with a header, or a Parquet file, columns named in the spec.

The arrival column is a number in ``time_unit`` (s, ms, us) or wall-clock text
(``datetime``); lengths are integer columns; an optional hash-ids column holds
space- or semicolon-separated integers (or, in Parquet, a list of integers).
Parquet is read one row-group batch at a time, so memory stays bounded.
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ._lines import MAX_TOKENS, WallClock, iter_lines, trace_error
from ._stream import Row

__all__ = ["read_csv_rows", "read_parquet_rows", "TIME_UNITS_S"]

TIME_UNITS_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_SEP = re.compile(r"[;\s]+")
_BATCH_ROWS = 65536


def _parse_hashes(cell, inp: int, bt: int, column: str) -> tuple[int, ...]:
    if isinstance(cell, str):
        parts = [p for p in _SEP.split(cell.strip()) if p]
        try:
            ids = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"{column} {cell[:40]!r} is not a list of integers") from None
    else:
        ids = tuple(cell)
        if not all(type(h) is int for h in ids):
            raise ValueError(f"{column} is not a list of integers")
    if any(h < 0 for h in ids):
        raise ValueError(f"{column} has a negative id")
    need = -(-inp // bt)
    if len(ids) != need:
        raise ValueError(f"{column} has {len(ids)} ids but the input length {inp} needs "
                         f"ceil({inp}/{bt}) = {need} (check hash_block_tokens)")
    return ids


def _count(cell: str, column: str) -> int:
    try:
        v = int(cell)
    except ValueError:
        raise ValueError(f"{column} {cell.strip()!r} is not an integer") from None
    if not 1 <= v <= MAX_TOKENS:
        raise ValueError(f"{column} {v} must be in 1..{MAX_TOKENS}")
    return v


def _unique_columns(names, wanted, path, line: int | None = None) -> None:
    """A column the spec reads must appear once: which copy is meant is anyone's guess."""
    for c in wanted:
        if list(names).count(c) > 1:
            raise trace_error(f"column {c!r} appears {list(names).count(c)} times; rename the "
                              "copies (which one is meant?)", path, line)


def _columns(spec) -> list[str]:
    cols = [spec.arrival_column, spec.input_column, spec.output_column]
    if spec.hash_ids_column:
        cols.append(spec.hash_ids_column)
    return cols


def _split_csv(text: str, delimiter: str) -> list[str]:
    # NOTE: plain str.split for speed; the csv module only for lines with quotes.
    if '"' in text:
        return next(csv.reader([text], delimiter=delimiter), [])
    return text.split(delimiter) if text else []


def read_csv_rows(path: Path, spec) -> Iterator[Row]:
    """Yield ``(time_s, input, output, hash_ids, line)`` from a CSV file with a header row.

    Quoted fields are allowed but may not span lines.  Each row is parsed on a
    fast path; a row that fails it is parsed again slowly to say what is wrong.
    """
    lines = iter_lines(path)
    delim = spec.delimiter
    for n, text, _complete in lines:
        try:
            header = [c.strip().lstrip("\ufeff") for c in _split_csv(text, delim)]
        except csv.Error as e:
            raise trace_error(f"bad CSV header: {e}", path, n) from None
        break
    else:
        return
    cols = _columns(spec)
    _unique_columns(header, cols, path, line=1)
    for c in cols:
        if c not in header:
            raise trace_error(f"no column {c!r}; the header has {', '.join(header)}", path, 1)
    idx = [header.index(c) for c in cols]
    width = len(header)
    unit = TIME_UNITS_S.get(spec.time_unit)
    clock = WallClock() if spec.time_unit == "datetime" else None
    bt = spec.hash_block_tokens
    it, ii, io = idx[:3]
    ih = idx[3] if len(idx) > 3 else None
    isfinite = math.isfinite
    for n, text, complete in lines:
        try:
            cells = _split_csv(text, delim)
            t = clock.seconds(cells[it]) if clock is not None else float(cells[it]) * unit
            inp = int(cells[ii])
            out = int(cells[io])
            hashes = None
            if ih is not None:
                hashes = tuple(map(int, cells[ih].replace(";", " ").split()))
            ok = (len(cells) == width and 1 <= inp <= MAX_TOKENS
                  and 1 <= out <= MAX_TOKENS and isfinite(t)
                  and (hashes is None or (len(hashes) == -(-inp // bt) and min(hashes) >= 0)))
        except (ValueError, IndexError, csv.Error):
            ok = False
        if not ok:
            problem = _csv_problem(text, cols, idx, width, spec, clock, unit, bt)
            if not complete:
                problem = f"truncated last line (no newline at end): {problem}"
            raise trace_error(problem, path, n)
        yield t, inp, out, hashes, n


def _csv_problem(text, cols, idx, width, spec, clock, unit, bt) -> str:
    """Say what is wrong with a row the fast path rejected."""
    if not text.strip():
        return "blank line"
    try:
        cells = _split_csv(text, spec.delimiter)
    except csv.Error as e:
        return f"bad CSV: {e}"
    if len(cells) != width:
        return f"has {len(cells)} fields, expected {width}"
    cell = cells[idx[0]]
    try:
        if clock is not None:
            clock.seconds(cell)
        else:
            try:
                t = float(cell) * unit
            except ValueError:
                raise ValueError(f"{cols[0]} {cell.strip()!r} is not a number") from None
            if not math.isfinite(t):
                raise ValueError(f"{cols[0]} {cell.strip()!r} is not finite")
        inp = _count(cells[idx[1]], cols[1])
        _count(cells[idx[2]], cols[2])
        if len(idx) > 3:
            _parse_hashes(cells[idx[3]], inp, bt, cols[3])
    except ValueError as e:
        return str(e)
    raise AssertionError(f"row rejected but no problem found: {text!r}")


def read_parquet_rows(path: Path, spec) -> Iterator[Row]:
    """Yield ``(time_s, input, output, hash_ids, row)`` batch by batch; rows count from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
    except FileNotFoundError:
        raise trace_error("trace file not found", path) from None
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as e:
        raise trace_error(f"not a readable Parquet file: {e}", path) from None
    cols = _columns(spec)
    _unique_columns(names, cols, path)
    for c in cols:
        if c not in names:
            raise trace_error(f"no column {c!r}; the file has {', '.join(names)}", path)
    types = {c: pf.schema_arrow.field(c).type for c in cols}
    for c in cols[1:3]:
        if not pa.types.is_integer(types[c]):
            raise trace_error(f"column {c!r} has type {types[c]}; expected integers", path)
    at = types[cols[0]]
    if spec.time_unit == "datetime":
        if not (pa.types.is_timestamp(at) or pa.types.is_string(at) or pa.types.is_large_string(at)):
            raise trace_error(f"column {cols[0]!r} has type {at}; time_unit datetime needs "
                              "timestamps or text", path)
    elif not (pa.types.is_integer(at) or pa.types.is_floating(at)):
        raise trace_error(f"column {cols[0]!r} has type {at}; time_unit {spec.time_unit} needs "
                          "numbers", path)
    clock = WallClock()
    bt = spec.hash_block_tokens
    row0 = 1
    try:
        batches = pf.iter_batches(batch_size=_BATCH_ROWS, columns=cols)
        for batch in batches:
            yield from _parquet_batch(batch, spec, cols, clock, bt, row0, path)
            row0 += batch.num_rows
    except (pa.ArrowException, OSError, UnicodeDecodeError) as e:
        raise trace_error(f"cannot read Parquet data: {e}", path, row0, unit="row") from None


def _parquet_batch(batch, spec, cols, clock, bt, row0, path) -> Iterator[Row]:
    import pyarrow as pa

    arrays = [batch.column(i) for i in range(len(cols))]
    for c, a in zip(cols, arrays):
        if a.null_count:
            bad = int(np.flatnonzero(a.is_null().to_numpy(zero_copy_only=False))[0])
            raise trace_error(f"{c} is empty (null)", path, row0 + bad, unit="row")
    ta = arrays[0]
    if pa.types.is_timestamp(ta.type):
        ticks = ta.cast(pa.int64()).to_numpy()
        per_s = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[ta.type.unit]
        t = ticks / per_s  # epoch seconds; windowed() rebases to the first row
    elif pa.types.is_string(ta.type) or pa.types.is_large_string(ta.type):
        t = np.empty(len(ta))
        for i, s in enumerate(ta.to_pylist()):
            try:
                t[i] = clock.seconds(s)
            except ValueError as e:
                raise trace_error(str(e), path, row0 + i, unit="row") from None
    else:
        t = ta.to_numpy(zero_copy_only=False).astype(np.float64) * TIME_UNITS_S[spec.time_unit]
        bad = ~np.isfinite(t)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise trace_error(f"{cols[0]} {t[i]!r} is not finite", path, row0 + i, unit="row")
    lengths = []
    for c, a in zip(cols[1:3], arrays[1:3]):
        v = a.to_numpy(zero_copy_only=False).astype(np.int64)
        bad = (v < 1) | (v > MAX_TOKENS)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise trace_error(f"{c} {int(v[i])} must be in 1..{MAX_TOKENS}", path, row0 + i, unit="row")
        lengths.append(v.tolist())
    inp, out = lengths
    if len(cols) > 3:
        hashes = []
        for i, (cell, n_in) in enumerate(zip(arrays[3].to_pylist(), inp)):
            try:
                hashes.append(_parse_hashes(cell, n_in, bt, cols[3]))
            except (ValueError, TypeError) as e:
                raise trace_error(str(e), path, row0 + i, unit="row") from None
    else:
        hashes = [None] * len(inp)
    for i, (ti, a, b, h) in enumerate(zip(t.tolist(), inp, out, hashes)):
        yield ti, a, b, h, row0 + i
