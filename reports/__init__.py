"""HTML reports and plotly figures of memsim results, offline and self-contained.

    >>> import reports
    >>> reports.render(result, "runs/quick/report.html")          # doctest: +SKIP
    >>> reports.figures.latency_cdfs({"lru": a, "s3fifo": b})     # doctest: +SKIP

``reports`` only reads Results (DataFrames and summaries); it never runs the engine.
"""
from __future__ import annotations

from . import figures, tables
from .html import render

__all__ = ["render", "figures", "tables"]
