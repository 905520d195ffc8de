"""Run many simulations on an executor: local processes, this process, or Dask.

Local processes by default (one per core, or in this process when
``workers=1``), or Dask (a ``LocalCluster``, or an existing cluster at
``scheduler=ADDRESS``).  Every run is deterministic for its scenario and seed,
so both executors give identical tables.  ``memsim compare`` and ``memsim
sweep`` both run through ``run_many``.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from memsim.ground.errors import ConfigError, MemsimError
from memsim.ground.progress import Progress
from memsim.sim.engine import run

__all__ = ["run_many", "Task", "Outcome", "Progress", "summary_row", "EXECUTORS", "WALL_CLOCK"]

EXECUTORS = ("local", "dask")

#: Summary fields that measure the host, not the simulation (excluded from equality checks).
WALL_CLOCK = ("wall_time_s", "sim_speed")


@dataclass
class Task:
    """One simulation to run: a scenario (path, dict or Scenario) plus overrides and seed."""
    key: str
    scenario: Any
    overrides: dict = field(default_factory=dict)
    seed: int | None = None
    save_dir: str | None = None
    keep_result: bool = False


@dataclass
class Outcome:
    """What a worker sends back: the summary, or the one-line error of a scenario that cannot run."""
    key: str
    summary: dict | None
    error: str = ""
    result: Any = None


def _run_task(task: Task) -> Outcome:
    """Runs in a worker process: simulate, optionally save the full result."""
    try:
        res = run(task.scenario, overrides=task.overrides or None, seed=task.seed)
    except MemsimError as e:
        return Outcome(task.key, None, error=f"{type(e).__name__}: {e}")
    if task.save_dir:
        res.save(task.save_dir)
    return Outcome(task.key, dict(res.summary), result=res if task.keep_result else None)


def _die_with_parent(parent: int) -> None:
    """Pool worker initializer: the worker ends when the process that started it does.

    ``kill -9`` of ``memsim sweep`` gives its pool no chance to shut down; without this its
    workers ran on as orphans (about 145 MB each).  On Linux the kernel sends SIGKILL at the
    parent's death (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread watches the parent id.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            pr_set_pdeathsig = 1
            armed = ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:        # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)
        threading.Thread(target=watch, daemon=True, name="memsim-parent-watch").start()


def _check_executor(executor: str, workers: int | None, scheduler: str | None) -> None:
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}", field="executor")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers={workers!r} must be an integer >= 1", field="workers")
    if scheduler and executor != "dask":
        raise ConfigError("a scheduler address needs executor 'dask'", field="scheduler")


def run_many(tasks: list[Task], *, executor: str = "local", workers: int | None = None,
             scheduler: str | None = None, on_done: Callable[[Outcome], None] | None = None) -> dict[str, Outcome]:
    """Run every task on the chosen executor; call ``on_done`` in this process as each finishes.

    A scenario that cannot run (a MemsimError in the worker) comes back as an
    Outcome with ``error`` set; any other exception stops the run and is raised.
    """
    _check_executor(executor, workers, scheduler)
    out: dict[str, Outcome] = {}

    def done(o: Outcome) -> None:
        out[o.key] = o
        if on_done:
            on_done(o)

    if not tasks:
        return out
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if executor == "dask":
        _run_dask(tasks, n_workers=n, scheduler=scheduler, done=done)
    elif n == 1:
        for t in tasks:
            done(_run_task(t))
    else:
        with ProcessPoolExecutor(max_workers=n, initializer=_die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(_run_task, t) for t in tasks]
            try:
                for fut in as_completed(futures):
                    done(fut.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return out


def _run_dask(tasks: list[Task], *, n_workers: int, scheduler: str | None, done) -> None:
    try:
        import logging

        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError("the dask executor needs dask.distributed: pip install 'memsim[dask]'",
                          field="executor") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r}: {e}",
                              field="scheduler") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = [client.submit(_run_task, t, pure=False) for t in tasks]
        for fut in dask_completed(futures):
            done(fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summary_row(summary: dict) -> dict:
    """The scalar fields of a summary (lists and mappings dropped)."""
    return {k: v for k, v in summary.items() if v is None or isinstance(v, (int, float, str, bool))}
