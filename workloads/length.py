"""How many requests a workload will stream, when that is cheap to know (for a progress total).

A synthetic generator stopped by ``num_requests`` knows; a plain-text trace is
counted by its newlines when it is under ``MAX_COUNT_BYTES`` (a fraction of a
second), a Parquet trace by its metadata.  A ``start``/``end`` window, a
``duration``, a compressed file or a huge one leaves the length unknown (None):
progress then shows the count and rate without a total.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ._lines import resolve_path
from .spec import AzureSpec, CsvSpec, ParquetSpec, SyntheticSpec

__all__ = ["expected_requests", "MAX_COUNT_BYTES"]

#: Larger text traces are not counted (counting would cost seconds before the run starts).
MAX_COUNT_BYTES = 512 << 20


def _text_rows(path: Path) -> int | None:
    if path.suffix == ".gz" or path.stat().st_size > MAX_COUNT_BYTES:
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _parquet_rows(path: Path) -> int | None:
    import pyarrow.parquet as pq
    return int(pq.ParquetFile(path).metadata.num_rows)


def expected_requests(spec: Any, base_dir: str | Path | None = None) -> int | None:
    """The number of requests ``spec`` yields, or None when it is unknown or costly to count.

    Never raises for a bad file: the reader reports that, with its line number.
    """
    if isinstance(spec, SyntheticSpec):
        return spec.num_requests
    if getattr(spec, "start", 0) or getattr(spec, "end", None) is not None:
        return None
    try:
        path = resolve_path(spec.path, base_dir)
        if isinstance(spec, ParquetSpec):
            n = _parquet_rows(path)
        else:
            n = _text_rows(path)
            if n is not None and isinstance(spec, (AzureSpec, CsvSpec)):
                n -= 1   # the header row
    except Exception:   # noqa: BLE001 - a guess for a progress bar must never fail a run
        return None
    if n is None:
        return None
    limit = getattr(spec, "limit", None)
    return max(0, min(n, limit) if limit else n)
