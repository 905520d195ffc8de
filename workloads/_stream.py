"""The trace options every reader shares: order check, start/end window, time scale, limit.

Readers yield raw rows ``(time_s, input_tokens, output_tokens, hash_ids, where)`` on
their own clock; ``windowed`` turns them into numbered ``Request`` objects on a
timeline that starts at the trace's first row.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from ._lines import trace_error
from .request import Request

__all__ = ["windowed", "Row", "MAX_SPAN_S", "MAX_TRACE_SPAN_S", "span_problem"]

#: The latest a request may arrive, in simulated seconds (about 317 years): float64
#: seconds still resolve 2 us there, so the engine's iteration times stay meaningful.
MAX_SPAN_S = 1e10

#: How far a trace's rows may reach past its first row, on the trace's own clock (about
#: 3.2 years).  No recorded serving trace spans that long, so a later row is a unit
#: mistake: an epoch time in a relative trace, milliseconds read as seconds, 1e300.
MAX_TRACE_SPAN_S = 1e8


def span_problem(arrival_s: float, what: str) -> str:
    """The message for an arrival past ``MAX_SPAN_S``."""
    return (f"{what} arrives at {arrival_s:.4g} s, past the {MAX_SPAN_S:.0e} s (317 years) a "
            "simulation may span")

Row = tuple  # (time_s: float, input_tokens: int, output_tokens: int, hash_ids | None, where: int)


def windowed(rows: Iterable[Row], *, path, start_s: float = 0.0, end_s: float | None = None,
             time_scale: float = 1.0, limit: int | None = None, hash_block_tokens: int = 0,
             unit: str = "line") -> Iterator[Request]:
    """Apply the window and speed-up; raise TraceError when nothing is left.

    Offsets are measured from the first row's time ``t0``: a row at ``t`` is kept when
    ``start_s <= t - t0 < end_s`` and arrives at ``(t - t0 - start_s) / time_scale``.
    Rows must be sorted by time; the first row out of order is an error.
    """
    t0 = None
    prev = -math.inf
    n = 0
    lo, hi = start_s, (math.inf if end_s is None else end_s)
    inv = 1.0 / time_scale
    for t, inp, out, hashes, where in rows:
        if t < prev:
            raise trace_error(f"timestamp out of order: {prev - t:.6g} s before the previous "
                              "row's (rows must be sorted by arrival time)", path, where, unit=unit)
        prev = t
        if t0 is None:
            t0 = t
        off = t - t0
        if off < lo:
            continue
        if off >= hi or (limit is not None and n >= limit):
            break
        if off > MAX_TRACE_SPAN_S:
            raise trace_error(f"this row is {off:.4g} s after the first, past the "
                              f"{MAX_TRACE_SPAN_S:.0e} s (3.2 years) a trace may span: a timestamp "
                              "in other units, or an absolute time in a relative trace? (see "
                              "time_unit)", path, where, unit=unit)
        at = (off - lo) * inv
        if at > MAX_SPAN_S:    # a tiny time_scale stretches even a short trace
            raise trace_error(span_problem(at, "this row") + " (see time_scale)", path, where,
                              unit=unit)
        yield Request(n, at, inp, out, hashes,
                      hash_block_tokens if hashes is not None else 0)
        n += 1
    if n == 0:
        if t0 is None:
            raise trace_error("empty trace: no requests", path)
        end = "end of trace" if end_s is None else f"{end_s:g} s"
        raise trace_error(f"no requests between start {start_s:g} s and {end}", path)
