"""``memsim.run``: one serving simulation, from a scenario to its Result.

``Engine`` puts the pieces together: ``sim/build.py`` builds the run's parts,
``sim/serve.py`` is the SimPy process that serves the requests (closed-form decode
runs between changes of the batch), ``sim/recording.py`` fills the tables and the summary.
"""
from __future__ import annotations

import math
import time

import pandas as pd
import simpy

from memsim.ground.files import check_output
from memsim.ground.progress import Progress
from memsim.workloads.length import expected_requests

from .build import build
from .cluster.engine import ClusterEngine
from .cluster.metrics import slo_goodput
from .config import Scenario, check_run_args, load_scenario
from .recording import Recorder, summarize
from .result import Result
from .sampling import MAX_SAMPLES
from .serve import ServeLoop, Wakeup, run_time, steps_to_reach

__all__ = ["run", "Engine", "engine_for", "steps_to_reach", "run_time"]


def run(scenario, *, seed: int | None = None, overrides: dict | None = None, out=None,
        progress: bool = False) -> Result:
    """Simulate a scenario (path, dict or Scenario) and return its Result (saved to ``out`` if given)."""
    check_run_args(out=out, progress=progress)
    check_output(out, "dir", flag="out")          # before the simulation, not after it
    scen = load_scenario(scenario, overrides, seed=seed)
    res = engine_for(scen, progress=progress).run()
    if out is not None:
        res.save(out)
    return res


def engine_for(scenario: Scenario, **kw):
    """The engine of a scenario: one replica (``Engine``), or a cluster when it has ``cluster:``."""
    if scenario.cluster is not None:
        return ClusterEngine(scenario, **kw)
    return Engine(scenario, **kw)


class Engine:
    """One simulation: owns the SimPy environment, the run's parts, the serve loop and the recorder.

    ``check=True`` asserts the block and tier accounting at every serving step (tests);
    ``spill_rows`` is how many result rows are kept in memory before spilling to Parquet;
    ``max_samples`` how many occupancy/traffic sample times a run keeps at most.
    """

    def __init__(self, scenario: Scenario, *, progress: bool = False, check: bool = False,
                 spill_rows: int = 250_000, max_samples: int = MAX_SAMPLES):
        self.scenario = scenario
        self.progress = progress
        self.env = simpy.Environment()
        self.wake = Wakeup(self.env)
        self.parts = build(scenario, self.env, self.wake)
        p = self.parts
        self.platform, self.model, self.cost, self.kv, self.hier, self.sched = \
            p.platform, p.model, p.cost, p.kv, p.hier, p.sched
        eng = scenario.engine
        self.recorder = Recorder(p, sample_interval=eng.sample_interval, spill_rows=spill_rows,
                                 max_samples=max_samples)
        self.loop = ServeLoop(self.env, p, self.recorder, self.wake, closed_form=eng.closed_form,
                              max_time=eng.max_sim_time or math.inf, check=check,
                              async_scheduling=scenario.scheduler.async_scheduling)
        self.end_s: float | None = None

    def run(self) -> Result:
        wall0 = time.perf_counter()
        total = expected_requests(self.scenario.workload, self.scenario.base_dir) if self.progress else None
        bar = Progress(enabled=self.progress, total=total, label="requests")
        self.sched.on_finish = lambda seq: bar.tick(self.env.now, self.sched.n_done)
        proc = self.env.process(self.loop.process())
        self.env.run()
        # trailing transfers or TTL timers may run past the last request; they are not serving time
        self.end_s = self.loop.end_s if self.loop.end_s is not None else self.env.now
        # the loop must end by itself; still waiting here means an event it waits on never came
        assert not proc.is_alive, "serve loop stalled waiting for an event that never came"
        bar.close()
        return self._result(time.perf_counter() - wall0)

    def _result(self, wall: float) -> Result:
        rec = self.recorder
        rec.finish(self.end_s)
        reqs = rec.requests
        if reqs.spilled:   # a huge run: summarise column by column, keep the tables on disk
            req, col = None, reqs.column
        else:
            req = reqs.frame(sort_by="request_id")
            col = (lambda c: req[c].to_numpy())
        summary = summarize(self.parts, rec, col, end_s=self.end_s, wall_s=wall, seed=self.scenario.seed)
        slo = self.scenario.slo
        if slo is not None:
            cols = pd.DataFrame({c: col(c) for c in ("status", "ttft_s", "tpot_s")})
            summary.update(slo_goodput(cols, ttft_s=slo.ttft, tpot_s=slo.tpot, duration_s=self.end_s))
        iters = None if rec.iterations.spilled else rec.iterations.frame()
        return Result(summary=summary, requests=req, iterations=iters, tiers=rec.tiers, links=rec.links,
                      scenario=self.scenario.model_dump(mode="json"),
                      sources={"requests": reqs, "iterations": rec.iterations})
