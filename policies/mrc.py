"""Miss-ratio (hit-ratio) curves: hit ratio as a function of cache capacity.

LRU with unit sizes comes from one pass of stack distances (exact: equal to a
replay at every capacity); other policies, and LRU with sizes, replay once per
capacity of a grid, in parallel processes, results in grid order.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from memsim.ground.errors import ConfigError
from memsim.ground.files import atomic_write_text

from .arguments import MAX_CAPACITIES, check_capacities, check_ids, check_sizes, check_workers
from .fast.stack_distance import stack_distances
from .replay import prepare_sequence, replay

__all__ = ["lru_curve", "mrc", "capacity_grid", "write_curve", "figure"]


def capacity_grid(n_unique: int, points: int = 20, *, low: int = 1) -> list[int]:
    """``points`` log-spaced integer capacities from ``low`` to the working-set size."""
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) \
            or not 1 <= points <= MAX_CAPACITIES:
        raise ConfigError(f"points={points!r} must be an integer in 1..{MAX_CAPACITIES:,}",
                          field="points")
    hi = max(int(n_unique), low)
    grid = np.unique(np.geomspace(low, hi, points).round().astype(np.int64))
    return [int(c) for c in grid]


def lru_curve(ids, capacities) -> list[dict]:
    """Exact LRU hit ratios of unit-size ``ids`` at each capacity, from stack distances."""
    dense, n_ids, _ = prepare_sequence(ids)
    d = stack_distances(dense, n_ids)
    n = len(d)
    reuse = np.sort(d[d > 0])
    rows = []
    for c in capacities:
        hits = int(np.searchsorted(reuse, int(c), side="right"))
        rows.append({"policy": "lru", "capacity": int(c), "accesses": n, "hits": hits,
                     "hit_ratio": hits / n if n else 0.0,
                     "miss_ratio": 1 - hits / n if n else 0.0})
    return rows


def _one(args):
    policy, cap, prepared = args
    r = replay(None, policy, cap, prepared=prepared)
    row = {k: v for k, v in r.row().items() if k in ("policy", "capacity", "accesses", "hits",
                                                      "hit_ratio")}
    row["miss_ratio"] = 1 - row["hit_ratio"]
    return row


def mrc(ids, policy, capacities, *, sizes=None, workers: int | None = None,
        on_point: Callable[[dict], None] | None = None) -> list[dict]:
    """Hit ratio of ``policy`` at every capacity (rows in the order of ``capacities``).

    ``on_point(row)`` is called as each capacity finishes (in completion order), e.g. for progress.
    """
    ids = check_ids(ids)
    sizes = check_sizes(sizes, len(ids))
    capacities = check_capacities(capacities)
    workers = check_workers(workers)
    name = policy if isinstance(policy, str) else None
    unit = sizes is None or bool(np.all(np.asarray(sizes) == 1))
    done = on_point or (lambda row: None)
    if name == "lru" and unit:
        rows = lru_curve(ids, capacities)
        for r in rows:
            done(r)
        return rows
    prepared = prepare_sequence(ids, sizes)
    jobs = [(policy, int(c), prepared) for c in capacities]
    workers = workers if workers is not None else min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or len(jobs) <= 1:
        out = []
        for j in jobs:
            out.append(_one(j))
            done(out[-1])
        return out
    with ProcessPoolExecutor(max_workers=workers) as ex:
        futures = [ex.submit(_one, j) for j in jobs]
        for f in as_completed(futures):
            done(f.result())
        return [f.result() for f in futures]


def write_curve(rows: list[dict], path: str) -> None:
    """Write rows as CSV or JSON (by the file's extension)."""
    import json

    import pandas as pd

    # atomic: a reader never sees half a curve, and a symbolic link is replaced, not followed
    if path.endswith(".json"):
        atomic_write_text(path, json.dumps(rows, indent=1))
    elif path.endswith(".csv"):
        atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    else:
        raise ConfigError(f"{path}: output must end in .csv or .json", field="out")


def figure(rows: list[dict], *, title: str = "Miss-ratio curve", capacity_unit: str = "blocks"):
    """A plotly figure: miss ratio vs capacity (log x, in ``capacity_unit``), one line per policy."""
    import plotly.graph_objects as go
    fig = go.Figure()
    for pol in dict.fromkeys(r["policy"] for r in rows):
        pts = [r for r in rows if r["policy"] == pol]
        fig.add_trace(go.Scatter(x=[r["capacity"] for r in pts],
                                 y=[r["miss_ratio"] for r in pts], mode="lines+markers",
                                 name=pol))
    fig.update_layout(title=title, xaxis_title=f"capacity ({capacity_unit})", yaxis_title="miss ratio",
                      xaxis_type="log", template="plotly_white")
    return fig
