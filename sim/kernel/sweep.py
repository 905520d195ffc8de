"""I/O as a function of fast-memory size: one row per (algorithm, M) for the log-log figure.

Sizes where an algorithm's working set cannot fit are left out (no row), so the
figure shows each curve only where the algorithm runs.
"""
from __future__ import annotations

import pandas as pd

from memsim.ground.errors import ConfigError

from .attention import attention_io

__all__ = ["sweep", "COLUMNS"]

COLUMNS = ["algo", "n", "d", "m_elems", "io", "lower_bound", "ratio", "reads", "writes",
           "block_rows", "block_cols", "peak_sram_elems"]


def sweep(n: int, d: int, m_values, algos, *, heads: int = 1, batch: int = 1,
          dtype_bytes: int = 2) -> pd.DataFrame:
    """A DataFrame with columns ``algo, n, d, m_elems, io, lower_bound, ratio`` (and
    ``reads, writes, block_rows, block_cols, peak_sram_elems``), default tiles."""
    rows = []
    for algo in algos:
        for m in m_values:
            try:
                r = attention_io(algo, n=n, d=d, sram_elems=int(m), heads=heads, batch=batch,
                                 dtype_bytes=dtype_bytes)
            except ConfigError as e:
                if e.field != "sram_elems":
                    raise
                continue
            rows.append({"algo": r.algo, "n": n, "d": d, "m_elems": int(m), "io": r.io,
                         "lower_bound": r.lower_bound, "ratio": r.ratio, "reads": r.reads,
                         "writes": r.writes, "block_rows": r.block_rows,
                         "block_cols": r.block_cols, "peak_sram_elems": r.peak_sram_elems})
    return pd.DataFrame(rows, columns=COLUMNS)
