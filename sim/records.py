"""Append-only tables that spill to Parquet, so a 10-million-request run keeps bounded memory.

Rows are buffered as tuples; past ``spill_rows`` the buffer becomes one Parquet part
in a private temporary folder.  A table that never spilled stays in memory.
``frame()`` reads everything back; ``column(name)`` reads one column (for summary
statistics); ``write(path)`` streams the parts into one Parquet file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Records"]


class Records:
    def __init__(self, columns: list[str], *, spill_rows: int = 250_000, derive=None):
        self.columns = list(columns)
        self.spill_rows = int(spill_rows)
        self.derive = derive          # derive(df) -> df with computed columns, applied per part
        self._rows: list[tuple] = []
        self._parts: list[str] = []
        self._dir: str | None = None
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def spilled(self) -> bool:
        return bool(self._parts)

    def append(self, row: tuple) -> None:
        self._rows.append(row)
        self._n += 1
        if len(self._rows) >= self.spill_rows:
            self._spill()

    def _buffer_frame(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self._rows, columns=self.columns) if self._rows else \
            pd.DataFrame({c: [] for c in self.columns})
        return self.derive(df) if self.derive is not None else df

    def _spill(self) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="memsim-records-")
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        path = os.path.join(self._dir, f"part-{len(self._parts):05d}.parquet")
        pq.write_table(pa.Table.from_pandas(self._buffer_frame(), preserve_index=False), path)
        self._parts.append(path)
        self._rows = []

    def frame(self, sort_by: str | None = None) -> pd.DataFrame:
        """The whole table in memory (for small runs, or when asked for)."""
        frames = [pd.read_parquet(p) for p in self._parts] + [self._buffer_frame()]
        frames = [f for f in frames if len(f)] or frames[-1:]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if sort_by is not None and len(df):
            df = df.sort_values(sort_by, kind="stable", ignore_index=True)
        return df

    def column(self, name: str) -> np.ndarray:
        """One column over every part, as a NumPy array."""
        pieces = [pq.read_table(p, columns=[name]).column(0).to_numpy(zero_copy_only=False)
                  for p in self._parts]
        buf = self._buffer_frame()
        pieces.append(buf[name].to_numpy())
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    def write(self, path: str) -> None:
        """Stream every part into one Parquet file at ``path`` (the caller makes it atomic)."""
        tail = self._buffer_frame()
        schema = None
        writer = None
        try:
            for p in self._parts:
                t = pq.read_table(p)
                if writer is None:
                    schema = t.schema
                    writer = pq.ParquetWriter(path, schema)
                writer.write_table(t)
            t = pa.Table.from_pandas(tail, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema)
            else:
                t = t.cast(schema)
            writer.write_table(t)
        finally:
            if writer is not None:
                writer.close()
