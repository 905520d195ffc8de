"""A simulation's outcome: per-request, per-iteration, per-tier and per-link tables plus a summary.

``Result.save(dir)`` writes Parquet tables, ``summary.json``, ``scenario.yaml`` and a
``manifest.json`` (run id, every file's sha256) as one transaction: into a fresh hidden
sibling folder, swapped into place, so a killed run or a full disk leaves the old result
or the new one, never a mix; ``load_result(dir)`` checks the manifest and reads them back
into an equal Result.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from memsim.ground.errors import ConfigError
from memsim.ground.files import (
    atomic_write_parquet,
    atomic_write_text,
    atomic_write_with,
    check_output,
    result_folder,
    verify_manifest,
)

from .overload import queue_growth
from .tables import OUTPUT, REQUESTS

__all__ = ["Result", "load_result", "TABLES", "RESULT_FILES",
           "REQUEST_COLUMNS", "summarize_requests"]

#: The tables every Result carries, in save order (their columns: ``sim/tables.py``).
TABLES = tuple(OUTPUT)

#: Names memsim writes into a result folder (with the manifest and any extra tables): an
#: older result's files of these names are replaced, any other file is kept.
RESULT_FILES = (*(f"{t}.parquet" for t in TABLES), "summary.json", "scenario.yaml", "report.html",
                "report-figures")

#: Written after the result, and rebuilt by ``memsim report``: listed in the manifest
#: apart from the data, which must match it.
DERIVED = ("report.html", "report-figures")

#: Columns of ``Result.requests`` and what each means (``tokens_<tier>`` once per lower tier).
REQUEST_COLUMNS = {c.shown_name: c.shown_description for c in REQUESTS.columns}


def _pct(x: np.ndarray, q: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else float("nan")


def summarize_requests(req) -> dict[str, Any]:
    """Latency and token metrics over completed requests (NaN where there are none).

    ``req`` is the requests DataFrame, or a function returning one column by name as a
    NumPy array (so a table spilled to disk is read one column at a time)."""
    col = (lambda c: req[c].to_numpy()) if isinstance(req, pd.DataFrame) else req
    status = np.asarray(col("status")).astype(str)
    done = status == "completed"
    out: dict[str, Any] = {
        "requests": int(status.size),
        "completed": int(done.sum()),
        "rejected": int((status == "rejected").sum()),
        "unfinished": int((status == "unfinished").sum()),
    }
    for c, name in (("ttft_s", "ttft"), ("tpot_s", "tpot"), ("e2e_s", "e2e"), ("queue_s", "queue")):
        v = np.asarray(col(c), dtype=float)[done]
        out[f"{name}_mean_s"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        for q in (50, 90, 99):
            out[f"{name}_p{q}_s"] = _pct(v, q)
    out["input_tokens"] = int(np.asarray(col("input_tokens"))[done].sum())
    out["output_tokens"] = int(np.asarray(col("generated_tokens"))[done].sum())
    blocks = float(np.asarray(col("prefix_blocks")).sum())
    try:
        found = np.asarray(col("found_blocks"))
    except (KeyError, ValueError):
        found = np.asarray(col("prefix_hit_blocks"))
    out["prefix_hit_ratio"] = float(found.sum() / blocks) if blocks else 0.0
    out["hbm_prefix_hit_ratio"] = float(np.asarray(col("prefix_hit_blocks")).sum() / blocks) if blocks else 0.0
    tok = float(np.asarray(col("input_tokens")).sum())
    out["prefix_hit_token_ratio"] = float(np.asarray(col("prefix_hit_tokens")).sum() / tok) if tok else 0.0
    out["preemptions"] = int(np.asarray(col("preemptions")).sum())
    out.update(queue_growth(np.asarray(col("arrival_s"), dtype=float)[done],
                            np.asarray(col("ttft_s"), dtype=float)[done]))
    return out


class Result:
    """What ``memsim.run`` returns.

    Attributes:
        summary: flat dict of headline metrics (``completed``, ``throughput_tok_s``,
            ``ttft_p50_s``, ``ttft_p99_s``, ``tpot_p50_s``, ``e2e_p50_s``,
            ``sim_time_s``, ``wall_time_s``, ``prefix_hit_ratio``, ...).
        requests: one row per request, in request_id order.
        iterations: one row per batch run (a closed-form decode run is one row).
        tiers: occupancy samples, one row per tier per sample.
        links: traffic per sample interval, one row per channel per sample.
        scenario: the validated scenario as plain data (what was simulated).

    Every table's columns (name, unit, dtype, meaning) are declared in ``sim/tables.py``;
    ``memsim schema results`` prints them.

    A table the engine spilled to disk (a very large run) is read back only when
    accessed; ``save`` streams it without loading it.
    """

    def __init__(self, summary: dict[str, Any], requests: pd.DataFrame | None = None,
                 iterations: pd.DataFrame | None = None, tiers: pd.DataFrame | None = None,
                 links: pd.DataFrame | None = None, scenario: dict[str, Any] | None = None,
                 extras: dict[str, pd.DataFrame] | None = None, *, sources: dict | None = None):
        self.summary = summary
        self.scenario = scenario or {}
        self.extras = extras or {}
        self._tables = {"requests": requests, "iterations": iterations, "tiers": tiers, "links": links}
        self._sources = sources or {}   # name -> sim.records.Records (spilled tables)

    def __getstate__(self):
        # crossing a process boundary (parallel sweeps): send tables, not spill files
        for name in TABLES:
            self._get(name)
        state = dict(self.__dict__)
        state["_sources"] = {}
        return state

    def _get(self, name: str) -> pd.DataFrame:
        t = self._tables.get(name)
        if t is None:
            src = self._sources.get(name)
            t = src.frame() if src is not None else pd.DataFrame()
            self._tables[name] = t
        return t

    def _set(self, name: str, df: pd.DataFrame) -> None:
        self._tables[name] = df
        self._sources.pop(name, None)

    requests = property(lambda self: self._get("requests"), lambda self, v: self._set("requests", v))
    iterations = property(lambda self: self._get("iterations"), lambda self, v: self._set("iterations", v))
    tiers = property(lambda self: self._get("tiers"), lambda self, v: self._set("tiers", v))
    links = property(lambda self: self._get("links"), lambda self, v: self._set("links", v))

    def __repr__(self) -> str:
        return (f"Result(completed={self.summary.get('completed')}, "
                f"sim_time_s={self.summary.get('sim_time_s')}, tables={list(TABLES)})")

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {name: getattr(self, name) for name in TABLES}
        out.update(self.extras)
        return out

    def save(self, out_dir: str | Path, *, force: bool = False, also=None) -> Path:
        """Write every table as Parquet plus ``summary.json``, ``scenario.yaml`` and the manifest.

        The folder is one transaction (``ground.files.result_folder``): a kill or an
        ``OSError`` (a full disk) leaves what was there before.  ``also(folder)`` writes
        more files into the same transaction (``memsim run`` puts report.html there).
        An existing folder must be empty or a memsim result unless ``force``; files in it
        memsim did not write are kept either way.
        """
        check_output(out_dir, "dir", flag="out", force=force)
        out = Path(out_dir)
        with result_folder(out, kind="result", owned=RESULT_FILES, derived=DERIVED,
                           info={"seed": self.scenario.get("seed") if isinstance(self.scenario, dict)
                                 else None}) as tmp:
            self._write(tmp)
            if also is not None:
                also(tmp)
        return out

    def _write(self, out: Path) -> None:
        for name in TABLES:
            src = self._sources.get(name) if self._tables.get(name) is None else None
            if src is not None:
                atomic_write_with(out / f"{name}.parquet", src.write)
            else:
                atomic_write_parquet(getattr(self, name), out / f"{name}.parquet")
        for name, df in self.extras.items():
            atomic_write_parquet(df, out / f"{name}.parquet")
        atomic_write_text(out / "scenario.yaml", yaml.safe_dump(self.scenario, sort_keys=False))
        atomic_write_text(out / "summary.json", json.dumps(_jsonable(self.summary), indent=2) + "\n")

    def equals(self, other: "Result", *, ignore=("wall_time_s", "sim_speed")) -> bool:
        """Same summary (minus wall-clock fields) and identical tables."""
        a = {k: v for k, v in self.summary.items() if k not in ignore}
        b = {k: v for k, v in other.summary.items() if k not in ignore}
        if json.dumps(_jsonable(a), sort_keys=True) != json.dumps(_jsonable(b), sort_keys=True):
            return False
        ta, tb = self.tables(), other.tables()
        if ta.keys() != tb.keys():
            return False
        return all(ta[k].equals(tb[k]) for k in ta)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def load_result(result_dir: str | Path) -> Result:
    """Read a directory written by ``Result.save``; ConfigError if it is not one.

    With a manifest (every result memsim writes), each data file it lists must match its
    checksum and no table may be there that it does not list, so a folder mixing two
    runs is refused, not read.  A folder from before manifests is read as it is."""
    if isinstance(result_dir, bool) or not isinstance(result_dir, (str, os.PathLike)):
        raise ConfigError(f"load_result takes a result folder's path (str or Path), not "
                          f"{type(result_dir).__name__} {result_dir!r:.60}", field="result_dir")
    d = Path(result_dir)
    if not d.is_dir():
        raise ConfigError("not a memsim result directory (no such folder)" if not d.exists()
                          else "not a memsim result directory (a file, not a folder)", file=str(d))
    if not (d / "summary.json").is_file():
        raise ConfigError("not a memsim result directory (no summary.json)", file=str(d))
    manifest = verify_manifest(d, only=lambda rel: rel.split("/", 1)[0] not in DERIVED)
    if manifest is not None:
        listed = set(manifest["files"])
        for p in sorted(d.glob("*.parquet")):
            if p.name not in listed:
                raise ConfigError(f"{p.name} is not part of run {manifest.get('run_id', '?')} "
                                  "(not in manifest.json): the folder mixes files of different "
                                  "runs", file=str(d))
    try:
        summary = json.loads((d / "summary.json").read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"summary.json is not valid JSON: {e.msg}", file=str(d)) from None
    if not isinstance(summary, dict):
        raise ConfigError("summary.json is not a JSON object", file=str(d))
    summary = {k: (float("nan") if v is None else v) for k, v in summary.items()}
    tables = {}
    for name in TABLES:
        p = d / f"{name}.parquet"
        tables[name] = pd.read_parquet(p) if p.is_file() else pd.DataFrame()
    extras = {p.stem: pd.read_parquet(p) for p in sorted(d.glob("*.parquet")) if p.stem not in TABLES}
    scen = yaml.safe_load((d / "scenario.yaml").read_text()) if (d / "scenario.yaml").is_file() else {}
    return Result(summary=summary, scenario=scen or {}, extras=extras, **tables)
