"""Bandwidth as a function of request size and queue depth, from a small table.

Log-log interpolation in request size at each tabulated queue depth, then linear
interpolation between the two neighbouring queue depths; outside the table the
nearest edge value is used (clamped), so the curve never extrapolates.
"""
from __future__ import annotations

import bisect
import math

__all__ = ["Curve"]


class Curve:
    """``Curve([(request_size_bytes, queue_depth, bytes_per_s), ...])(size, qd) -> bytes/s``."""

    def __init__(self, points):
        rows: dict[int, list[tuple[float, float]]] = {}
        for size, qd, bw in points:
            rows.setdefault(int(qd), []).append((math.log(size), math.log(bw)))
        self._qds = sorted(rows)
        self._rows = [sorted(rows[q]) for q in self._qds]

    def __bool__(self) -> bool:
        return bool(self._qds)

    @staticmethod
    def _at_size(row, log_size: float) -> float:
        xs = [x for x, _ in row]
        if log_size <= xs[0]:
            return math.exp(row[0][1])
        if log_size >= xs[-1]:
            return math.exp(row[-1][1])
        j = bisect.bisect_right(xs, log_size)
        (x0, y0), (x1, y1) = row[j - 1], row[j]
        return math.exp(y0 + (y1 - y0) * (log_size - x0) / (x1 - x0))

    def __call__(self, request_size: float, queue_depth: float) -> float:
        ls = math.log(request_size)
        qds = self._qds
        if queue_depth <= qds[0]:
            return self._at_size(self._rows[0], ls)
        if queue_depth >= qds[-1]:
            return self._at_size(self._rows[-1], ls)
        j = bisect.bisect_right(qds, queue_depth)
        q0, q1 = qds[j - 1], qds[j]
        b0 = self._at_size(self._rows[j - 1], ls)
        b1 = self._at_size(self._rows[j], ls)
        return b0 + (b1 - b0) * (queue_depth - q0) / (q1 - q0)
