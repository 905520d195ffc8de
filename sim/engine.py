"""``memsim.run``: build the platform, model, workload and policies, then serve the requests in SimPy.

The serving loop is one SimPy process.  Between changes of the batch's
composition it advances decode iterations in closed form: a decode-only
iteration over n sequences holding S KV tokens takes ``a + b*S`` seconds, and S
grows by n per step, so k steps take ``k*a + b*(k*S0 + n*k*(k+1)/2)``.  A run
stops at the first completion, at the step where blocks would run out, or at
the first iteration boundary after the next arrival (when that arrival could be
admitted) — exactly where stepping every iteration would change the batch.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from memsim.ground.errors import ConfigError, SimulationError
from memsim.ground.progress import Progress
from memsim.hwmodels import load_platform
from memsim.policies import create
from memsim.policies import create as _create
from memsim.sim.compress import simulate
from memsim.workloads import load_model, open_workload
from memsim.workloads.attention_scores import synthetic_scores

from .config import Scenario, load_scenario
from .costmodel import CostModel
from .hierarchy import Hierarchy
from .kvcache import KVManager
from .records import Records
from .result import Result, summarize_requests
from .scheduler import Scheduler, Seq

__all__ = ["run", "Engine"]


def run(scenario, *, seed: int | None = None, overrides: dict | None = None, out=None,
        progress: bool = False) -> Result:
    """Simulate a scenario (path, dict or Scenario) and return its Result (saved to ``out`` if given)."""
    scen = load_scenario(scenario, overrides, seed=seed)
    res = Engine(scen, progress=progress).run()
    if out is not None:
        res.save(out)
    return res


def steps_to_reach(a: float, b: float, s0: float, n: int, delta: float, upper: int) -> int:
    """Smallest j in [1, upper] with C(j) = j*a + b*(j*s0 + n*j*(j+1)/2) >= delta (upper if none)."""
    if delta <= 0:
        return 1
    qa = b * n / 2.0
    qb = a + b * s0 + b * n / 2.0
    if qa > 0:
        j = (-qb + math.sqrt(qb * qb + 4 * qa * delta)) / (2 * qa)
    else:
        j = delta / qb
    j = max(1, min(upper, int(math.ceil(j))))
    # the float root can be off by one either way
    while j > 1 and run_time(a, b, s0, n, j - 1) >= delta:
        j -= 1
    while j < upper and run_time(a, b, s0, n, j) < delta:
        j += 1
    return j


def run_time(a: float, b: float, s0: float, n: int, k: int) -> float:
    """Seconds for k decode steps of n sequences starting with s0 KV tokens (each step reads S+n)."""
    return k * a + b * (k * s0 + n * k * (k + 1) / 2.0)


class Engine:
    """One simulation: owns the SimPy environment, the scheduler and the recorders."""

    def __init__(self, scenario: Scenario, *, progress: bool = False, check: bool = False,
                 spill_rows: int = 250_000):
        self.scenario = scenario
        self.progress = progress
        where = _Where(scenario.source_file)
        with where("platform"):
            self.platform = load_platform(_resolve(scenario.platform, scenario.base_dir))
        with where("model"):
            self.model = load_model(_resolve(scenario.model, scenario.base_dir))
        tp = scenario.parallelism.tp
        with where(None):
            self.cost = CostModel(self.platform, self.model, tp=tp, dtype=scenario.dtype)
        hbm = self.cost.hbm
        kvc = scenario.kv
        self.compression = None
        self.attention_recall = 1.0   # the full cache keeps all attention mass
        if kvc.compression is not None:
            with where("kv.compression"):
                self.compression = create("compression", kvc.compression)
                link = self.platform.link_between(hbm.name, "dram") if any(
                    t.name == "dram" for t in self.platform.tiers) else None
                bw = link.bandwidth * min(tp, link.count) if link is not None else None
                self.cost.apply_compression(self.compression, self.model, bw)
                self.attention_recall = _estimate_recall(kvc.compression, self.compression, self.model,
                                                          scenario.seed)
        usable = hbm.capacity * kvc.memory_fraction * tp - kvc.activation_reserve * tp
        kv_bytes = usable - self.model.weight_bytes
        self.cost.check_fits(kv_bytes)
        kv_token_bytes = self.cost.kv_bytes_per_token  # stored bytes/token (compression may shrink it)
        with where("kv.allocation"):
            alloc = _create("allocation", kvc.allocation)
        block_tokens = int(alloc.unit_tokens(kvc.block_tokens, kv_token_bytes, self.model.layers))
        # shared fixed-size pages need no per-request reservation; contiguous schemes do
        self.allocation = None if alloc.shares_prefix_blocks else alloc
        prefix_cache = kvc.prefix_cache_on()
        self.block_tokens = block_tokens
        self.block_bytes = max(1, int(round(block_tokens * kv_token_bytes)))
        total_blocks = int(kv_bytes // self.block_bytes)
        if total_blocks < 1:
            raise SimulationError(f"HBM left for KV ({kv_bytes / 2**20:.1f} MiB) holds no "
                                  f"{block_tokens}-token block")
        with where("kv.prefix_cache.eviction"):
            self.kv = KVManager(total_blocks=total_blocks, block_tokens=block_tokens,
                                block_bytes=self.block_bytes, prefix_cache=prefix_cache,
                                eviction=kvc.prefix_cache.eviction)
        self.kv_capacity_bytes = total_blocks * self.block_bytes
        self.env = simpy.Environment()
        self._wake_ev = self.env.event()
        self.hier = None
        if kvc.tiers:
            pol = {}
            for kind in ("write", "load", "prefetch", "promotion", "overlap"):
                with where(f"kv.{kind}"):
                    pol[kind] = create(kind, getattr(kvc, kind))
            with where("kv.tiers"):
                self.hier = Hierarchy(self.env, platform=self.platform, hbm=hbm, tiers=kvc.tiers,
                                      kv_bytes_per_token=int(round(kv_token_bytes)), tp=tp, cost=self.cost,
                                      layers=self.model.layers, wake=self._wake, **pol)
            self.kv.on_evict = self.hier.on_hbm_evict
        sch = scenario.scheduler
        self.sched = Scheduler(kv=self.kv, cost=self.cost, max_batch_size=sch.max_batch_size,
                               max_batch_tokens=sch.max_batch_tokens, chunked_prefill=sch.chunked_prefill,
                               hierarchy=self.hier, allocation=self.allocation,
                               session_ttl=kvc.session_ttl, defer=self._defer,
                               rng=np.random.default_rng(np.random.SeedSequence(scenario.seed).spawn(2)[1]))
        with where("workload"):
            self.requests = open_workload(scenario.workload, base_dir=scenario.base_dir, seed=scenario.seed)
        self.closed_form = scenario.engine.closed_form
        self.sample_interval = scenario.engine.sample_interval
        self.max_time = scenario.engine.max_sim_time or math.inf
        self._next_req = None
        self._arrived = 0
        self.spill_rows = spill_rows  # result rows kept in memory before spilling to Parquet
        self._iters = Records(ITER_COLUMNS, spill_rows=spill_rows)
        self._steps_total = 0
        self._batch_steps = 0
        self._tier_rows = Records(TIER_COLUMNS, spill_rows=spill_rows)
        self._link_rows = Records(LINK_COLUMNS, spill_rows=spill_rows)
        self._last_tier_t = None
        self._next_sample = 0.0
        self._link_bytes_acc = 0.0
        self._last_link_sample = 0.0
        self._check_every_event = check
        self._end_s = None

    # ---- outside events -------------------------------------------------------------
    def _wake(self) -> None:
        """A transfer finished: let a waiting serve loop re-plan at the next iteration boundary."""
        if not self._wake_ev.triggered:
            self._wake_ev.succeed()

    def _defer(self, delay: float, fn) -> None:
        """Run ``fn(now)`` after ``delay`` seconds, then wake the serve loop (e.g. a TTL expiry)."""
        def fire(_ev):
            fn(self.env.now)
            self._wake()
        self.env.timeout(delay).callbacks.append(fire)

    def _outside_pending(self) -> bool:
        """Is anything outside the serve loop due to change the batch (transfers, loads, TTLs)?"""
        hier = self.hier
        return bool(self.sched.loading or self.sched.ttl_pending
                    or (hier is not None and hier.net.in_flight()))

    def _wake_event(self):
        if self._wake_ev.triggered:
            self._wake_ev = self.env.event()
        return self._wake_ev

    # ---- arrivals -------------------------------------------------------------------
    def _peek(self):
        if self._next_req is None:
            self._next_req = next(self.requests, None)
        return self._next_req

    def _admit_arrivals(self, now: float) -> None:
        sched = self.sched
        while True:
            r = self._peek()
            if r is None or r.arrival_s > now:
                return
            self._next_req = None
            self._arrived += 1
            seq = Seq(r, self.block_tokens)
            if not sched.reject_if_impossible(seq):
                sched.waiting.append(seq)
                hier = self.hier
                if hier is not None and hier.prefetch.on_arrival:
                    hits = sched._peek_prefix(seq)[0]
                    hier.on_arrival(seq, hits, now)
                    if 0 < hier.prefetch.wait_s < math.inf:
                        t = self.env.timeout(max(0.0, r.arrival_s + hier.prefetch.wait_s - now))
                        t.callbacks.append(lambda _e: self._wake())

    # ---- recording ------------------------------------------------------------------
    def _sample(self, now: float, *, final: bool = False) -> None:
        if final:  # record up to now, then one last sample that closes the partial interval
            self._sample(now)
            if self._last_tier_t == now:
                return
            self._next_sample = now
        while self._next_sample <= now:
            t = self._next_sample
            kv = self.kv
            sched = self.sched
            ds = sched.decoding
            priv_tokens = int(ds.priv[:len(ds)].sum()) + sum(
                q.computed - q.shared_tokens for q in sched.prefilling) + sum(
                q.computed - q.shared_tokens for q in sched.loading)
            self._last_tier_t = t
            self._tier_rows.append((t, self.cost.hbm.name, kv.used_blocks * self.block_bytes,
                                    self.kv_capacity_bytes, kv.cached_blocks * self.block_bytes,
                                    sched.running(), len(sched.waiting),
                                    (kv.private_blocks + kv.cached_blocks - kv.evictable_blocks) * self.block_bytes,
                                    (priv_tokens + kv.pinned_tokens) * self.cost.kv_bytes_per_token))
            for st in (self.hier.stores if self.hier is not None else ()):
                self._tier_rows.append((t, st.name, st.used_bytes, st.capacity_bytes, st.used_bytes, 0, 0,
                                        st.used_bytes, st.used_bytes))
            if self.cost.tp_link is not None:
                self._link_rows.append((t, self.cost.tp_link.name, "both", self._link_bytes_acc, float("nan")))
                self._link_bytes_acc = 0.0
            if self.hier is not None:
                span = max(t - self._last_link_sample, 1e-12)
                for ch, nbytes, busy in self.hier.net.sample():
                    util = nbytes / (ch.bandwidth_fn(1) * span) if t > self._last_link_sample else 0.0
                    self._link_rows.append((t, ch.name, ch.direction, nbytes, util))
                self._last_link_sample = t
            self._next_sample += self.sample_interval

    def _record(self, start, dur, steps, batch, ptok, dtok, kvtok) -> None:
        self._iters.append((start, dur, steps, batch, ptok, dtok, kvtok))
        self._steps_total += steps
        self._batch_steps += batch * steps
        if self.cost.tp > 1:
            self._link_bytes_acc += self.cost.allreduce_bytes_per_token * (ptok + dtok)

    # ---- the serving process ----------------------------------------------------------
    def serve(self):
        env, sched, cost, hier = self.env, self.sched, self.cost, self.hier
        while True:
            now = env.now
            self._admit_arrivals(now)
            self._sample(now)
            if hier is not None:
                hier.flush(now)
            if self._check_every_event:
                self.kv.check()
                if hier is not None:
                    hier.check()
            if now >= self.max_time:
                self._end_s = now
                return
            if sched.idle():
                r = self._peek()
                if r is None:
                    self._end_s = now
                    return
                yield env.timeout(r.arrival_s - now)
                continue
            if self.closed_form and sched.decode_run_possible(now):
                ds = sched.decoding
                n = len(ds)
                upper = ds.min_remaining()
                avail = self.kv.available_blocks()
                if sched.head_evictable_hits() or (hier is not None and hier.demotes) or sched.ttl_pending:
                    # an eviction inside the run would start a write (or change the head's
                    # prefix) at that step, and a TTL expiring mid-run unpins entries before
                    # the run's allocations are applied: stop the run before the first one
                    avail = self.kv.free_blocks
                upper = ds.max_steps_for_blocks(avail, upper)
                upper = ds.steps_within_reservation(upper)  # outgrowing one re-plans (regrowth)
                if upper >= 1:
                    a, b = cost.decode_affine(n)
                    s0 = ds.kv_total()
                    nxt = self._peek()
                    if nxt is not None and not sched.waiting:
                        upper = steps_to_reach(a, b, s0, n, nxt.arrival_s - now, upper)
                    if self.max_time < math.inf:
                        upper = steps_to_reach(a, b, s0, n, self.max_time - now, upper)
                    dur = run_time(a, b, s0, n, upper)
                    if self._outside_pending():
                        # an outside event can change what the next iteration holds:
                        # stop at the boundary of the step in progress when it comes
                        wake = self._wake_event()
                        yield env.timeout(dur) | wake
                        if wake.triggered and env.now < now + dur:
                            elapsed = env.now - now
                            done = steps_to_reach(a, b, s0, n, elapsed, upper)
                            rest = run_time(a, b, s0, n, done) - elapsed
                            if rest > 0:
                                yield env.timeout(rest)
                            upper, dur = done, run_time(a, b, s0, n, done)
                    else:
                        yield env.timeout(dur)
                    self._record(now, dur, upper, n, 0, n * upper, s0)
                    sched.advance_decode(upper, env.now)
                    continue
            planned = sched.plan(now)
            if planned is None:
                if self._outside_pending() or (hier is not None and sched.waiting):
                    # everything runnable waits on a transfer (or a prefetch window)
                    r = self._peek()
                    wake = self._wake_event()
                    if r is not None:
                        yield env.timeout(r.arrival_s - now) | wake
                    else:
                        yield wake
                    continue
                raise AssertionError("scheduler stalled with waiting requests and an empty batch")
            shape, chunks = planned
            dur = cost.time(shape)
            yield env.timeout(dur)
            self._record(now, dur, 1, shape.decode_seqs + len(chunks), shape.prefill_tokens,
                         shape.decode_seqs, shape.decode_kv_tokens)
            sched.apply(chunks, env.now)

    # ---- driver -----------------------------------------------------------------------
    def run(self) -> Result:
        wall0 = time.perf_counter()
        bar = Progress(enabled=self.progress)
        self.sched.on_finish = lambda seq: bar.tick(self.env.now, self.sched.n_done)
        store_names = [st.name for st in self.hier.stores] if self.hier is not None else []
        self._store_names = store_names
        import functools
        self._reqs = Records(_raw_request_columns(store_names),
                             derive=functools.partial(_derive_requests, recall=self.attention_recall),
                             spill_rows=self.spill_rows)
        self.sched.record = lambda seq: self._reqs.append(_request_row(seq, len(store_names)))
        proc = self.env.process(self.serve())
        self.env.run()
        # trailing transfers or TTL timers may run past the last request; they are not serving time
        self.end_s = self._end_s if self._end_s is not None else self.env.now
        # the loop must end by itself; still waiting here means an event it waits on never came
        assert not proc.is_alive, "serve loop stalled waiting for an event that never came"
        bar.close()
        wall = time.perf_counter() - wall0
        return self._result(wall)

    def _result(self, wall: float) -> Result:
        sched = self.sched
        # whatever is still queued or running when the run stopped
        for s in sched.decoding.seqs:
            sched.decoding.sync(s)
        for s in list(sched.waiting) + list(sched.prefilling) + list(sched.loading) + list(sched.decoding.seqs):
            s.status = "unfinished"
            self._reqs.append(_request_row(s, len(self._store_names)))
        reqs = self._reqs
        if reqs.spilled:   # a huge run: summarise column by column, keep the tables on disk
            req = None
            col = reqs.column
        else:
            req = reqs.frame(sort_by="request_id")
            col = (lambda c: req[c].to_numpy())
        iters = None if self._iters.spilled else self._iters.frame()
        self._sample(self.end_s, final=True)
        tiers = None if self._tier_rows.spilled else self._tier_rows.frame()
        links = None if self._link_rows.spilled else self._link_rows.frame()
        summary = summarize_requests(col)
        sim_time = float(self.end_s)
        out_tokens = int(col("generated_tokens").sum())
        summary.update({
            "sim_time_s": sim_time,
            "wall_time_s": wall,
            "sim_speed": sim_time / wall if wall > 0 else float("inf"),
            "throughput_tok_s": out_tokens / sim_time if sim_time > 0 else 0.0,
            "throughput_req_s": summary["completed"] / sim_time if sim_time > 0 else 0.0,
            "iterations": int(self._steps_total),
            "batch_runs": int(len(self._iters)),
            "mean_batch_size": float(self._batch_steps / self._steps_total) if self._steps_total else 0.0,
            "kv_capacity_bytes": int(self.kv_capacity_bytes),
            "kv_blocks": int(self.kv.total_blocks),
            "hbm_peak_used_bytes": int(self.kv.peak_used_blocks * self.block_bytes),
            "prefix_evictions": int(self.kv.evictions),
            "ttl_pinned_turns": int(self.sched.ttl_pinned_turns),
            "weight_bytes": int(self.model.weight_bytes),
            "platform": self.platform.name,
            "model": self.model.name,
            "tp": self.cost.tp,
            "seed": self.scenario.seed,
        })
        if len(self._link_rows):
            summary["link_bytes"] = float(self._link_rows.column("bytes").sum())
        is_hbm = self._tier_rows.column("tier").astype(str) == self.cost.hbm.name
        alloc_b = self._tier_rows.column("allocated_bytes").astype(float)[is_hbm]
        used_b = self._tier_rows.column("kv_bytes").astype(float)[is_hbm]
        busy = alloc_b > 0
        summary.update(self.cost.timing_summary())
        summary["kv_allocation"] = getattr(self.allocation, "name", "paged")
        summary["attention_recall"] = float(self.attention_recall)
        summary["kv_waste_fraction"] = float(1 - used_b[busy].sum() / alloc_b[busy].sum()) if busy.any() else 0.0
        summary["kv_regrows"] = int(col("regrows").sum())
        kv = self.kv
        summary.update({"hbm_hit_blocks": int(kv.hit_blocks), "hbm_miss_blocks": int(kv.miss_blocks),
                        "hbm_evicted_blocks": int(kv.evicted_blocks)})
        if self.hier is not None:
            for st in self.hier.stores:
                looked = st.hit_blocks + st.miss_blocks
                summary.update({
                    f"{st.name}_hit_blocks": int(st.hit_blocks), f"{st.name}_miss_blocks": int(st.miss_blocks),
                    f"{st.name}_hit_ratio": st.hit_blocks / looked if looked else 0.0,
                    f"{st.name}_loaded_tokens": int(st.hit_tokens), f"{st.name}_bytes_read": int(st.bytes_read),
                    f"{st.name}_bytes_written": int(st.bytes_written), f"{st.name}_evictions": int(st.evicted),
                    f"{st.name}_peak_bytes": int(st.peak_chunks * st.chunk_bytes)})
            for (name, direction), ch in sorted(self.hier._channels.items()):
                summary[f"link_{name}_{direction}_bytes"] = float(ch.bytes_total)
            summary["loaded_tokens"] = int(col("loaded_tokens").sum())
            summary["recomputed_tokens"] = int(col("recomputed_tokens").sum())
        scen = self.scenario.model_dump(mode="json")
        sources = {"requests": reqs, "iterations": self._iters, "tiers": self._tier_rows,
                   "links": self._link_rows}
        return Result(summary=summary, requests=req, iterations=iters, tiers=tiers, links=links,
                      scenario=scen, sources=sources)


TIER_COLUMNS = ["time_s", "tier", "used_bytes", "capacity_bytes", "cached_bytes", "running", "waiting",
                "allocated_bytes", "kv_bytes"]
LINK_COLUMNS = ["time_s", "link", "direction", "bytes", "utilization"]
ITER_COLUMNS = ["start_s", "duration_s", "steps", "batch_size", "prefill_tokens", "decode_tokens", "kv_tokens"]

_RAW = ["request_id", "arrival_s", "input_tokens", "output_tokens", "generated_tokens",
        "prefix_hit_tokens", "prefix_hit_blocks", "prefix_blocks", "scheduled_s", "first_token_s",
        "finish_s", "preemptions", "found_blocks", "loaded_tokens", "ready_s", "regrows", "status", "reason"]


def _raw_request_columns(store_names) -> list[str]:
    return _RAW + [f"tokens_{n}" for n in store_names]


def _request_row(s: Seq, n_stores: int) -> tuple:
    by = s.tokens_by_store or (0,) * n_stores
    return (s.rid, s.arrival_s, s.input_tokens, s.output_tokens, s.generated, s.hit_tokens, s.hit_blocks,
            s.prefix_blocks, s.scheduled_s, s.first_token_s, s.finish_s, s.preemptions, s.found_blocks,
            s.loaded_tokens, s.ready_s, s.regrows, s.status, s.reason, *by[:n_stores])


def _derive_requests(df: pd.DataFrame, recall: float = 1.0) -> pd.DataFrame:
    """Add the computed latency and token columns, in the documented order."""
    store_cols = [c for c in df.columns if c.startswith("tokens_")]
    for c in ("arrival_s", "scheduled_s", "first_token_s", "finish_s", "ready_s"):
        df[c] = df[c].astype(float)
    for c in ("request_id", "input_tokens", "output_tokens", "generated_tokens", "prefix_hit_tokens",
              "prefix_hit_blocks", "prefix_blocks", "preemptions", "found_blocks", "loaded_tokens",
              "regrows", *store_cols):
        df[c] = df[c].astype(np.int64)
    df["status"] = df["status"].astype(str)
    df["reason"] = df["reason"].astype(str)
    df["recomputed_tokens"] = df["input_tokens"] - df["prefix_hit_tokens"] - df["loaded_tokens"]
    df["queue_s"] = df["scheduled_s"] - df["arrival_s"]
    ready = df["ready_s"].to_numpy()
    started = np.where(np.isnan(ready), df["scheduled_s"], ready)
    df["load_s"] = np.where(np.isnan(ready), 0.0, ready - df["scheduled_s"])
    df["prefill_s"] = df["first_token_s"] - started
    df["ttft_s"] = df["first_token_s"] - df["arrival_s"]
    df["e2e_s"] = df["finish_s"] - df["arrival_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        gen = df["generated_tokens"].to_numpy()
        df["tpot_s"] = (df["finish_s"] - df["first_token_s"]).to_numpy() / np.where(gen > 1, gen - 1, np.nan)
    cols = ["request_id", "arrival_s", "input_tokens", "output_tokens", "generated_tokens",
            "prefix_hit_tokens", "prefix_hit_blocks", "prefix_blocks", "scheduled_s", "first_token_s",
            "finish_s", "queue_s", "load_s", "prefill_s", "ttft_s", "tpot_s", "e2e_s", "preemptions",
            "found_blocks", "loaded_tokens", *store_cols, "recomputed_tokens", "regrows",
            "status", "reason"]
    return df[cols].assign(attention_recall=recall)


def _estimate_recall(spec, policy, model, seed: int) -> float:
    """Attention-mass recall of a compression policy at the budget it runs with in the engine,
    measured once with the token-level simulation on a seeded synthetic attention source
    (``memsim.sim.compress``); NaN when the policy states no engine budget."""
    mode = getattr(policy, "mode", None)
    if mode == "quantize":
        return 1.0  # every token stays resident
    frac = getattr(policy, "budget_fraction", None) if mode == "evict" else getattr(policy, "top_k_fraction", None)
    if mode == "evict" and frac is None:
        return 1.0  # no engine budget: the engine keeps every token
    if frac is None:
        return float("nan")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    scores = synthetic_scores(prompt_tokens=512, steps=64, layers=2, heads=4, rng=rng)
    budget = max(1, int(round(frac * (512 + 32))))
    res = simulate(spec, scores, budget_tokens=budget, model=model, seed=seed)
    return float(np.mean(res.recall))


class _Where:
    """``with where("field"):`` adds the scenario file and field to a ConfigError that lacks them."""

    def __init__(self, file):
        self.file = file

    def __call__(self, field):
        import contextlib

        @contextlib.contextmanager
        def ctx():
            try:
                yield
            except ConfigError as e:
                if e.file:
                    import os
                    if field and not os.path.exists(e.file):
                        # a file the scenario names is missing: say which field names it
                        raise ConfigError(f"{e.file}: {e.problem}", file=self.file, field=field) from None
                    raise  # it names its own file (a hardware YAML, a trace line)
                prefix = field
                last = field.split(".")[-1] if field else None
                if e.field and last and (e.field == last or e.field.startswith((last + ".", last + "["))):
                    prefix = field[: -len(last)].rstrip(".") or None  # it already names that field
                raise e.located(file=self.file, field_prefix=prefix) from None
        return ctx()


def _resolve(name: str, base_dir: Path) -> str:
    """A platform/model given as a relative file path resolves against the scenario's folder."""
    if name.endswith((".yaml", ".yml")):
        p = Path(name)
        if not p.is_absolute():
            p = Path(base_dir) / p
        return str(p)
    return name
