"""Azure LLM inference trace reader: CSV of TIMESTAMP, ContextTokens, GeneratedTokens.

Timestamps are wall-clock text with seven fractional digits
(``2023-11-16 18:15:46.6805900``, no zone); they become seconds after the first
row.  Rows are split by hand, not through pandas, so a 10M-row file streams.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ._lines import MAX_TOKENS, WallClock, iter_lines, trace_error
from ._stream import Row

__all__ = ["read_azure_rows", "AZURE_COLUMNS"]

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def read_azure_rows(path: Path) -> Iterator[Row]:
    """Yield ``(time_s, input, output, None, line)``; each bad line raises TraceError."""
    lines = iter_lines(path)
    for n, text, _complete in lines:
        header = [c.strip().lstrip("\ufeff") for c in text.split(",")]
        missing = [c for c in AZURE_COLUMNS if c not in header]
        if missing:
            raise trace_error(f"header lacks column {missing[0]!r}; expected "
                              f"{','.join(AZURE_COLUMNS)} (got {text[:80]!r})", path, n)
        it, ic, io = (header.index(c) for c in AZURE_COLUMNS)
        width = len(header)
        break
    else:
        return
    clock = WallClock()
    seconds = clock.seconds
    for n, text, complete in lines:
        cells = text.split(",")
        try:
            if len(cells) != width:
                raise ValueError(f"has {len(cells)} fields, expected {width}")
            t = seconds(cells[it])
            inp = _count(cells[ic], "ContextTokens")
            out = _count(cells[io], "GeneratedTokens")
        except ValueError as e:
            problem = str(e) if text.strip() else "blank line"
            if not complete:
                problem = f"truncated last line (no newline at end): {problem}"
            raise trace_error(problem, path, n) from None
        yield t, inp, out, None, n


def _count(cell: str, name: str) -> int:
    try:
        v = int(cell)
    except ValueError:
        raise ValueError(f"{name} {cell.strip()!r} is not an integer") from None
    if not 1 <= v <= MAX_TOKENS:
        raise ValueError(f"{name} {v} must be in 1..{MAX_TOKENS}")
    return v
