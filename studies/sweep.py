"""Parameter sweeps: a base scenario, dotted paths to vary, and a Parquet dataset of results.

A sweep file names ``base:`` (a scenario, relative to the sweep file), ``grid:``
(every combination), ``zip:`` (lists walked together), optional ``seeds:`` and
``out:``; a path may name a list item by its ``tier``/``name`` (``kv.tiers.dram.capacity``).  Each point is validated before anything runs, keyed by a hash of its
fully resolved scenario, and written atomically as ``out/points/KEY.parquet``
the moment it finishes, so a rerun skips finished points and a killed sweep
loses none; ``out/results.parquet`` combines them, one row per point.
"""
from __future__ import annotations

import errno
import hashlib
import io
import itertools
import json
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.files import atomic_write_bytes, atomic_write_text, write_error
from memsim.ground.schema import StrictModel, load_yaml, validate
from memsim.reports._data import AS_WRITTEN, POINT_FILE
from memsim.sim.config import load_scenario

from .runner import Progress, Task, run_many, summary_row

__all__ = ["SweepSpec", "Sweep", "Point", "SweepRun", "load_sweep", "run_sweep", "is_sweep_file",
           "load_sweep_results", "fold_list_paths", "param_cells", "point_label", "RESULTS_FILE",
           "POINT_FILE", "AS_WRITTEN", "ASK_POINTS", "MAX_POINTS"]

RESULTS_FILE = "results.parquet"

#: held (flock) by the sweep writing into a folder; a second sweep into it refuses
LOCK_FILE = ".memsim-sweep.lock"

#: what marks a folder as a sweep's (so a rerun may write into it without --force)
SWEEP_MARKERS = ("sweep.json", "points", RESULTS_FILE, LOCK_FILE)


class _Lock:
    """An exclusive ``flock`` on ``folder/LOCK_FILE``; the kernel drops it when the holder dies,
    so a killed sweep never leaves a stale lock."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self):
        import fcntl
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise write_error(self.path, e, field="out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ConfigError(f"another memsim sweep (pid {holder}) is writing into "
                                  f"{self.path.parent}; wait for it to finish (a rerun then skips "
                                  "its points) or give another --out", field="out") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)      # closing drops the lock
            self.fd = None
#: points a sweep runs without ``yes=True`` (``memsim sweep --yes``): more is likely a typo
#: (a grid of two 1,000-value lists is a million runs) and takes hours to validate alone
ASK_POINTS = 1_000
#: points a sweep may have at all: every point's scenario is validated and held before
#: the first runs, so beyond this split the sweep into several files
MAX_POINTS = 100_000


def _check_path(path: str) -> str:
    if not path or any(not p.strip() for p in path.split(".")):
        raise ConfigError(f"{path!r} is not a dotted path like kv.block_tokens")
    return path


class SweepSpec(StrictModel):
    """The sweep file."""
    base: str = Field(..., description="scenario file the points start from (relative to the sweep file)")
    description: str = ""
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted.path: [values]; all combinations")
    zip: dict[str, list[Any]] = Field(default_factory=dict, description="dotted.path: [values]; walked together")
    seeds: list[int] | None = Field(None, description="run every point once per seed")
    out: str | None = Field(None, description="results folder (relative to the current directory)")
    show: list[str] | None = Field(None, description="summary metrics the printed table shows (default: "
                                                     "throughput, TTFT p50, TPOT p50, prefix hit ratio)")

    @field_validator("grid", "zip")
    @classmethod
    def _lists(cls, v: dict[str, list[Any]]):
        for path, values in v.items():
            _check_path(path)
            if not values:
                raise ConfigError(f"{path}: needs at least one value")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if v is not None:
            if not v or len(set(v)) != len(v) or min(v) < 0:
                raise ConfigError(f"seeds {v} must be distinct integers >= 0 (at least one)")
        return v

    @model_validator(mode="after")
    def _shape(self):
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ConfigError("zip lists must all have the same length; got "
                              + ", ".join(f"{k}: {len(v)}" for k, v in self.zip.items()))
        both = set(self.grid) & set(self.zip)
        if both:
            raise ConfigError(f"{', '.join(sorted(both))} is in both grid and zip")
        return self


@dataclass
class Point:
    """One run of a sweep: its position, the values it sets, its seed and its key."""
    index: int
    params: dict[str, Any]
    seed: int
    key: str
    scenario: Any = field(repr=False, default=None)


def _list_index(items: list, part: str) -> int | None:
    """The element of a list a path part names: an index, or the item whose ``tier``/``name`` it is."""
    if part.isdigit() and int(part) < len(items):
        return int(part)
    for i, item in enumerate(items):
        if isinstance(item, dict) and part in (item.get("tier"), item.get("name")):
            return i
    return None


def fold_list_paths(data: dict, params: dict[str, Any]) -> dict[str, Any]:
    """Overrides for ``load_scenario`` where paths may cross lists by item name.

    ``kv.tiers.dram.capacity: 256 GiB`` sets the capacity of the ``kv.tiers`` item
    whose ``tier`` (or ``name``) is ``dram``; such paths become one override of
    the whole list (``kv.tiers: [...]``), plain paths stay as they are.
    """
    import copy
    work = copy.deepcopy(data)
    out: dict[str, Any] = {}
    lists: list[str] = []
    for path, value in params.items():
        parts = path.split(".")
        cur: Any = work
        for i, part in enumerate(parts[:-1]):
            if isinstance(cur, list):
                j = _list_index(cur, part)
                if j is None:
                    names = [str(x.get("tier") or x.get("name")) for x in cur if isinstance(x, dict)]
                    raise ConfigError(f"{'.'.join(parts[:i])} has no item {part!r} (items: "
                                      f"{', '.join(names) or 'none'}; or an index)", field=path)
                prefix = ".".join(parts[:i])
                lists += [prefix] if prefix not in lists else []
                cur = cur[j]
            elif isinstance(cur, dict) and isinstance(cur.get(part), (dict, list)):
                cur = cur[part]
            else:
                break
        else:
            if isinstance(cur, list):
                j = _list_index(cur, parts[-1])
                if j is not None:
                    prefix = ".".join(parts[:-1])
                    lists += [prefix] if prefix not in lists else []
                    cur[j] = value
                    continue
            if isinstance(cur, dict) and any(path.startswith(f"{p}.") for p in lists):
                cur[parts[-1]] = value
                continue
        out[path] = value
    for prefix in lists:
        node: Any = work
        for part in prefix.split("."):
            node = node[part]
        out[prefix] = node
    return out


def _hash(scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Sweep:
    """A validated sweep: its spec, where its base scenario is, where results go."""
    spec: SweepSpec
    base_path: Path
    out: Path | None
    file: str | None = None

    @property
    def size(self) -> int:
        """How many points the sweep has (grid product x zip length x seeds), without building them."""
        n = math.prod(len(v) for v in self.spec.grid.values())
        n *= len(next(iter(self.spec.zip.values()))) if self.spec.zip else 1
        return n * (len(self.spec.seeds) if self.spec.seeds else 1)

    def shape(self) -> str:
        """``grid 3 x 2, zip 3, seeds 2``: where the size comes from."""
        parts = []
        if self.spec.grid:
            parts.append("grid " + " x ".join(str(len(v)) for v in self.spec.grid.values()))
        if self.spec.zip:
            parts.append(f"zip {len(next(iter(self.spec.zip.values())))}")
        if self.spec.seeds:
            parts.append(f"seeds {len(self.spec.seeds)}")
        return ", ".join(parts) or "the base scenario alone"

    def check_size(self, *, yes: bool = False) -> int:
        """The number of points, or a ConfigError when there are more than ``ASK_POINTS``
        (unless ``yes``) or more than ``MAX_POINTS``."""
        n = self.size
        field_ = "grid" if self.spec.grid else ("zip" if self.spec.zip else "seeds")
        if n > MAX_POINTS:
            raise ConfigError(f"{n:,} points ({self.shape()}); a sweep may have at most "
                              f"{MAX_POINTS:,}: split it into several sweep files", file=self.file,
                              field=field_)
        if n > ASK_POINTS and not yes:
            raise ConfigError(f"{n:,} points ({self.shape()}); more than {ASK_POINTS:,} runs only "
                              "when asked: pass --yes (run_sweep(..., yes=True))", file=self.file,
                              field=field_)
        return n

    def combinations(self) -> list[dict[str, Any]]:
        grid_keys = list(self.spec.grid)
        grid = [dict(zip(grid_keys, vals)) for vals in itertools.product(*self.spec.grid.values())]
        zipped = [dict(zip(self.spec.zip, vals)) for vals in zip(*self.spec.zip.values())] or [{}]
        return [{**g, **z} for g in grid for z in zipped]

    def points(self) -> list[Point]:
        """Every point, validated (a bad path or value raises ConfigError naming the sweep file)."""
        out: list[Point] = []
        seen: dict[str, int] = {}
        raw = load_yaml(self.base_path)
        if not isinstance(raw, dict):
            raise ConfigError("a scenario must be a YAML mapping", file=str(self.base_path))
        for params in self.combinations():
            seeds: list[int | None] = list(self.spec.seeds) if self.spec.seeds else [None]
            for seed in seeds:
                try:
                    scen = load_scenario(self.base_path, fold_list_paths(raw, params), seed=seed)
                except ConfigError as e:
                    raise self._locate(e, params) from None
                key = _hash(scen)
                if key in seen:
                    raise ConfigError(f"points {seen[key]} and {len(out)} ({params}) give the same "
                                      "scenario; remove the duplicate value", file=self.file)
                seen[key] = len(out)
                out.append(Point(len(out), dict(params), scen.seed, key, scen))
        return out

    def _locate(self, e: ConfigError, params: dict) -> ConfigError:
        section = next((s for s in ("grid", "zip") if e.field in getattr(self.spec, s)), None)
        if section is None:
            where = f"{e.file or self.base_path}: "
            return ConfigError(f"{where}{e.field + ': ' if e.field else ''}{e.problem} (point {params})",
                               file=self.file)
        return ConfigError(e.problem, file=self.file, field=f"{section}.{e.field}")


def is_sweep_file(path: str | Path) -> bool:
    """True for a YAML mapping with a ``base:`` key (a scenario has ``platform:`` instead)."""
    p = Path(path)
    if p.suffix not in (".yaml", ".yml") or not p.is_file():
        return False
    data = load_yaml(p)
    return isinstance(data, dict) and "base" in data and "platform" not in data


def load_sweep(source: str | Path | dict, *, out: str | Path | None = None,
               base_dir: str | Path | None = None) -> Sweep:
    """Read and validate a sweep file (or a dict, whose ``base`` is relative to ``base_dir``).

    ``out`` overrides the file's ``out:``; a file without one writes to
    ``sweeps/<file stem>``; a dict without one keeps nothing on disk.
    """
    if isinstance(source, dict):
        data, file, folder = source, None, Path(base_dir or Path.cwd())
    elif not isinstance(source, (str, Path)) or isinstance(source, bool):
        raise ConfigError(f"expected a sweep file path or a dict, got {type(source).__name__} "
                          f"{source!r:.60}", field="sweep")
    else:
        file, folder = str(source), Path(source).resolve().parent
        data = load_yaml(source)
        if not isinstance(data, dict):
            raise ConfigError("a sweep file must be a YAML mapping", file=file)
    if "base" not in data and "platform" in data:   # one line, not an unknown key per field
        raise ConfigError("this is a scenario file, not a sweep (which names a base: scenario "
                          "and a grid:); run it with memsim run", file=file)
    spec = validate(SweepSpec, data, file=file)
    base = Path(spec.base)
    base = base if base.is_absolute() else folder / base
    if not base.is_file():
        raise ConfigError(f"base scenario {spec.base!r} not found (looked in {folder})", file=file,
                          field="base")
    where = out or spec.out or (f"sweeps/{Path(file).stem}" if file else None)
    return Sweep(spec=spec, base_path=base, out=Path(where) if where else None, file=file)


@dataclass
class SweepRun:
    """What ``run_sweep`` did: the combined table, points run now, points found done, failed
    points, where the dataset is, and the varied dotted paths (the table's parameter columns)."""
    table: pd.DataFrame
    ran: int
    skipped: int
    failed: int
    out: Path | None
    params: list[str] = field(default_factory=list)


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, sort_keys=True)
    return v


def _resolved(scenario: Any, path: str) -> Any:
    """The validated scenario's value at a dotted path (list items by index, ``tier`` or ``name``)."""
    cur = scenario
    for part in path.split("."):
        if isinstance(cur, (list, tuple)):
            hit = [x for x in cur if part in (getattr(x, "tier", None), getattr(x, "name", None))]
            cur = hit[0] if hit else cur[int(part)] if part.isdigit() and int(part) < len(cur) else None
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            cur = getattr(cur, part, None)
        if cur is None:
            return None
    return cur


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def param_cells(point: Point) -> dict[str, Any]:
    """A point's parameter columns: quantities in base units (bytes, seconds, bytes/s, req/s), so
    the table sorts and plots numerically, and the text as written in ``PATH (as written)``."""
    out: dict[str, Any] = {}
    for path, written in point.params.items():
        value = _resolved(point.scenario, path) if point.scenario is not None else None
        if isinstance(written, str) and _is_number(value):
            out[path] = value
            out[path + AS_WRITTEN] = written
        else:
            out[path] = _cell(written)
    return out


def point_label(point: Point, params: list[str]) -> str:
    """A run's label from its swept values: ``capacity=256 GiB, eviction=s3fifo`` (short names if unique)."""
    short = [p.rsplit(".", 1)[-1] for p in params]
    names = short if len(set(short)) == len(short) else params
    text = ", ".join(f"{n}={point.params[p]}" for n, p in zip(names, params) if p in point.params)
    return text or f"point {point.index}"


def _row(point: Point, summary: dict | None, error: str) -> dict:
    row: dict[str, Any] = summary_row(summary or {})
    row.update({"point": point.key, "index": point.index, "seed": point.seed})
    row.update(param_cells(point))
    row["error"] = error
    return row


def _parquet_bytes(data: pd.DataFrame | dict) -> bytes:
    """A table, or one row given as a dict (straight through pyarrow: a third of pandas' time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    buf = io.BytesIO()
    if isinstance(data, dict):
        pq.write_table(pa.Table.from_pylist([data]), buf)
    else:
        data.to_parquet(buf, index=False)
    return buf.getvalue()


def _tidy(df: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Columns whose values mix numbers and text become text (Parquet needs one type)."""
    # a grid may vary ``seed`` itself: list it once (pyarrow refuses duplicate column names)
    first = list(dict.fromkeys(["point", "index", *params,
                                *[p + AS_WRITTEN for p in params if p + AS_WRITTEN in df.columns], "seed"]))
    if df.empty:
        return pd.DataFrame(columns=first + ["error"])
    for col in df.columns:
        if df[col].dtype == object:
            kinds = {"number" if isinstance(v, numbers.Number) and not isinstance(v, bool) else type(v)
                     for v in df[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1:
                df[col] = [None if v is None else str(v) for v in df[col]]
    return df[first + [c for c in df.columns if c not in first]]


def run_sweep(sweep: Sweep, *, executor: str = "local", workers: int | None = None,
              scheduler: str | None = None, progress: bool | None = None,
              save_runs: bool = False, retry_failed: bool = False, yes: bool = False) -> SweepRun:
    """Run the sweep's missing points and return the combined table (one row per point).

    Points already in ``out/points/`` are skipped, including ones that failed,
    unless ``retry_failed``.  A sweep of more than ``ASK_POINTS`` points runs only with
    ``yes=True``; more than ``MAX_POINTS`` never (ConfigError before anything is built).
    ``sweep`` may also be what ``load_sweep`` takes (a path or a dict).
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    for name, flag in (("save_runs", save_runs), ("retry_failed", retry_failed), ("yes", yes)):
        if not isinstance(flag, bool):
            raise ConfigError(f"expected true or false, got {type(flag).__name__} {flag!r:.60}",
                              field=name)
    sweep.check_size(yes=yes)
    points = sweep.points()
    if sweep.out is None:
        return _run_points(sweep, points, executor, workers, scheduler, progress, save_runs,
                           retry_failed)
    with _Lock(sweep.out):
        return _run_points(sweep, points, executor, workers, scheduler, progress, save_runs,
                           retry_failed)


def _run_points(sweep: Sweep, points: list[Point], executor, workers, scheduler, progress,
                save_runs, retry_failed) -> SweepRun:
    params = list(dict.fromkeys(k for p in points for k in p.params))
    rows: dict[str, dict] = {}
    pdir = sweep.out / "points" if sweep.out else None
    if pdir is not None and pdir.is_dir():
        for p in points:
            f = pdir / f"{p.key}.parquet"
            if f.is_file():
                try:
                    old = pd.read_parquet(f).iloc[0].to_dict()
                except Exception:      # noqa: BLE001 - an unreadable point is simply run again
                    continue
                if retry_failed and old.get("error"):
                    continue
                old.update({"point": p.key, "index": p.index, "seed": p.seed, **param_cells(p)})
                rows[p.key] = old
    todo = [p for p in points if p.key not in rows]
    by_key = {p.key: p for p in points}
    tasks = [Task(p.key, p.scenario, save_dir=str(sweep.out / "runs" / p.key) if save_runs and sweep.out
                  else None) for p in todo]
    bar = Progress(total=len(points), done=len(rows), label="runs", enabled=progress)

    def finished(o) -> None:
        row = _row(by_key[o.key], o.summary, o.error)
        if pdir is not None:
            atomic_write_bytes(pdir / f"{o.key}.parquet", _parquet_bytes(row))
        run_dir = sweep.out / "runs" / o.key if save_runs and sweep.out else None
        if run_dir is not None and run_dir.is_dir():
            pt = by_key[o.key]
            atomic_write_text(run_dir / POINT_FILE, json.dumps(
                {"label": point_label(pt, params) + (f", seed={pt.seed}" if sweep.spec.seeds else ""),
                 "params": pt.params, "seed": pt.seed}, default=str) + "\n")
        rows[o.key] = row
        bar.advance()

    try:
        run_many(tasks, executor=executor, workers=workers, scheduler=scheduler, on_done=finished)
    finally:
        bar.close()
        table = _tidy(pd.DataFrame([rows[p.key] for p in points if p.key in rows]), params)
        if sweep.out is not None and len(table):
            atomic_write_bytes(sweep.out / RESULTS_FILE, _parquet_bytes(table))
            atomic_write_text(sweep.out / "sweep.json", json.dumps(
                {"sweep": sweep.file, "base": str(sweep.base_path), "spec": sweep.spec.model_dump(mode="json"),
                 "points": [p.key for p in points]}, indent=1) + "\n")
    failed = int((table["error"] != "").sum()) if len(table) else 0
    return SweepRun(table=table, ran=len(todo), skipped=len(points) - len(todo), failed=failed, out=sweep.out,
                    params=params)


def load_sweep_results(out: str | Path) -> pd.DataFrame:
    """The combined table a sweep wrote (``out/results.parquet``)."""
    f = Path(out) / RESULTS_FILE
    if not f.is_file():
        raise ConfigError(f"no {RESULTS_FILE} here; run the sweep first", file=str(out))
    return pd.read_parquet(f)
