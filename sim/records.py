"""Append-only tables that spill to Parquet, so a 10-million-request run keeps bounded memory.

Rows are buffered as tuples of a declared table's recorded columns (``sim/tables.py``);
past ``spill_rows`` the buffer becomes one Parquet part in a private temporary folder.
A table that never spilled stays in memory.  ``frame()`` reads everything back;
``column(name)`` reads one column (for summary statistics); ``write(path)`` streams the
parts into one Parquet file.  Every frame and part has the declared columns and dtypes.
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

from .tables import Table

__all__ = ["Records"]


class Records:
    def __init__(self, table: Table, *, tiers: tuple[str, ...] = (), columns: list[str] | None = None,
                 spill_rows: int = 250_000, derive=None, cluster: bool = False):
        self.table = table
        self.tiers = tuple(tiers)
        recorded = table.recorded(self.tiers, cluster=cluster)
        #: the order of an appended tuple: the table's recorded columns, or a given permutation
        self.columns = list(columns) if columns is not None else recorded
        if sorted(self.columns) != sorted(recorded):
            raise AssertionError(f"{table.name}: recorded columns differ from the declaration")
        self.schema = table.schema(self.tiers, cluster=cluster)
        self.spill_rows = int(spill_rows)
        # derive(df) -> the whole table (computed columns added, declared dtypes), per part
        self.derive = derive if derive is not None else (lambda df: table.conform(df, self.tiers, cluster=cluster))
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
        return self.derive(df)

    def _arrow(self, df: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(df, schema=self.schema, preserve_index=False)

    def _spill(self) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="memsim-records-")
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        path = os.path.join(self._dir, f"part-{len(self._parts):05d}.parquet")
        pq.write_table(self._arrow(self._buffer_frame()), path)
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

    def categories(self, name: str) -> pd.Categorical:
        """One text column over every part as a Categorical: codes, not a Python string per
        row (a million ``"completed"`` strings are ~60 MB; their codes are 1 MB)."""
        pieces = [pq.read_table(p, columns=[name], read_dictionary=[name]).column(0).to_pandas()
                  for p in self._parts]
        pieces.append(pd.Series(pd.Categorical(self._buffer_frame()[name].astype(str))))
        from pandas.api.types import union_categoricals
        cats = [pd.Categorical(x) if not isinstance(x.dtype, pd.CategoricalDtype) else x.array
                for x in pieces]
        return union_categoricals(cats) if len(cats) > 1 else cats[0]

    def column(self, name: str) -> np.ndarray:
        """One column over every part, as a NumPy array."""
        pieces = [pq.read_table(p, columns=[name]).column(0).to_numpy(zero_copy_only=False)
                  for p in self._parts]
        buf = self._buffer_frame()
        pieces.append(buf[name].to_numpy())
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

    def write(self, path: str) -> None:
        """Stream every part into one Parquet file at ``path`` (the caller makes it atomic)."""
        tail = self._arrow(self._buffer_frame())
        # the first part's schema carries the pandas metadata every later part must match
        schema = pq.read_schema(self._parts[0]) if self._parts else tail.schema
        with pq.ParquetWriter(path, schema) as writer:
            for p in self._parts:
                writer.write_table(pq.read_table(p))
            writer.write_table(tail.cast(schema))
