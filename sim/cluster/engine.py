"""``ClusterEngine``: many replicas in one SimPy environment, a router in front of them.

Each replica is what a single engine is (``build_replica``: cost model, KV manager,
tiers, scheduler) with its own serve process, which keeps its closed-form decode runs
and sleeps between its own events; nothing steps replicas in lockstep.  One
dispatcher process routes every arrival when it is due (O(replicas) per arrival),
queues it in the chosen replica's inbox and wakes only that replica.  A replica's
loop also routes, at the top of each step, any arrival already due, so arrivals and
steps at the same time are ordered as in one engine.  ``docs/cluster.md`` has the
whole design.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import simpy

from memsim.ground.errors import ConfigError, SimulationError
from memsim.ground.progress import Progress
from memsim.hwmodels import load_platform
from memsim.workloads import load_model, open_workload
from memsim.workloads.length import expected_requests

from ..build import _resolve, _Where, build_replica
from ..costmodel import CostModel
from ..link import Network
from ..recording import Recorder, summarize
from ..result import Result, summarize_requests
from ..sampling import MAX_SAMPLES
from ..serve import ServeLoop, Wakeup
from ..tables import ITERATIONS, LINKS, TIERS
from ..tierstore import TierStore
from .handoff import Handoff
from .kvpool import SharedKVPool
from .metrics import REPLICA_COLUMNS, kv_transfer_summary, per_replica, slo_goodput
from .network import ClusterNetwork
from .placement import place, ports_for
from .prefix_index import PrefixIndex
from .replica import AlignedIds, Replica, RoutedArrivals
from .routing import build_stages, cluster_seeds

__all__ = ["ClusterEngine"]

#: per-replica summary keys (``replica<i>_<key>``), from the replicas table
_PER_REPLICA_KEYS = ("requests", "completed", "busy_fraction", "mean_batch_size", "prefix_hit_ratio")


class ClusterEngine:
    """One cluster simulation: ``ClusterEngine(scenario).run() -> Result``.

    ``check=True`` asserts every replica's block and tier accounting at every step
    and the prefix index against the replicas' caches at the end (tests).
    """

    def __init__(self, scenario, *, progress: bool = False, check: bool = False,
                 spill_rows: int = 250_000, max_samples: int = MAX_SAMPLES):
        self.scenario = scenario
        self.progress = progress
        self.check = check
        cfg = scenario.cluster
        self.cfg = cfg
        self.env = env = simpy.Environment()
        pools = cfg.resolved_pools(platform=scenario.platform, model=scenario.model, tp=scenario.parallelism.tp)
        self.pools = pools
        n = cfg.total_replicas
        self.index = PrefixIndex(n) if scenario.kv.prefix_cache_on() else None
        aligned = AlignedIds()
        _, _, seeds = cluster_seeds(scenario.seed, n)
        self.replicas: list[Replica] = []
        eng = scenario.engine
        max_time = eng.max_sim_time or math.inf
        # the network exists when something crosses it: P/D handoffs or the shared KV pool
        self.network = self._network() if cfg.disaggregated or cfg.kv_pool is not None else None
        self.pool = self._kv_pool() if cfg.kv_pool is not None else None
        # with the pool every replica's tier traffic shares the cluster's one network
        net = self.network.net if self.pool is not None else None
        requests_table = None
        for k, pool in enumerate(pools):
            field = f"cluster.pools[{k}]" if cfg.pools is not None else None
            scen = scenario if cfg.pools is None else scenario.model_copy(update={
                "platform": pool.platform, "model": pool.model,
                "parallelism": scenario.parallelism.model_copy(update={"tp": pool.tp})})
            loaded = {}   # the pool's platform and model, loaded with its first replica
            for _ in range(pool.replicas):
                i = len(self.replicas)
                wake = Wakeup(env)
                # replica 0 draws what a one-replica run draws; the others their own children
                rng = None if i == 0 else np.random.default_rng(seeds[i - 1])
                try:
                    parts = build_replica(scen, env, wake, rng=rng, pool_field=field, net=net,
                                          shared_pool=self.pool, replica=i, **loaded)
                    loaded = {"platform": parts.platform, "model": parts.model}
                except SimulationError as e:
                    if field is None:
                        raise
                    raise ConfigError(str(e), file=scenario.source_file, field=field) from None
                except ConfigError as e:
                    # a pool's tp is the pool's field, not the scenario's parallelism
                    if field is not None and e.field == f"{field}.parallelism.tp":
                        raise ConfigError(e.problem, file=e.file, field=f"{field}.tp") from None
                    if e.file is None:
                        raise e.located(file=scenario.source_file) from None
                    raise
                rep = Replica(i, pool.name, pool.role, parts, wake, self.index, aligned)
                rec = Recorder(parts, sample_interval=eng.sample_interval, spill_rows=spill_rows,
                               max_samples=max_samples, replica=i, requests=requests_table)
                requests_table = rec.requests
                rep.recorder = rec
                self._count_leaving(rep)
                rep.loop = ServeLoop(env, parts, rec, wake, closed_form=eng.closed_form, max_time=max_time,
                                     check=check, arrivals=RoutedArrivals(self, rep))
                self.replicas.append(rep)
        self.requests_table = requests_table
        self.stages = build_stages(cfg, self.replicas, scenario.seed)
        self.handoff = None
        if cfg.disaggregated:
            self.handoff = Handoff(self, self.stages["decode"], self.network, cfg.kv_transfer.mode)
        where = _Where(scenario.source_file)
        with where("workload"):
            self._requests = open_workload(scenario.workload, base_dir=scenario.base_dir, seed=scenario.seed)
        self._next = None
        self.exhausted = False
        self.max_time = max_time
        self.end_s: float | None = None

    # ---- building ---------------------------------------------------------------------
    def _network(self) -> ClusterNetwork:
        """Nodes, NIC/NVLink ports and the channels between replicas (prefill/decode handoff)."""
        cfg, scen = self.cfg, self.scenario
        platforms = {}
        where = _Where(scen.source_file)
        for k, pool in enumerate(self.pools):
            if pool.platform not in platforms:
                with where(f"cluster.pools[{k}].platform"):
                    platforms[pool.platform] = load_platform(_resolve(pool.platform, scen.base_dir))
        try:
            placements = place(self.pools, {name: p.compute.count for name, p in platforms.items()},
                               mode=cfg.network.placement)
        except ConfigError as e:
            raise e.located(file=scen.source_file, field_prefix="cluster") from None
        ports = []
        for pl in placements:
            k = next(j for j, p in enumerate(self.pools) if p.name == pl.pool)
            try:
                ports.append(ports_for(platforms[pl.platform], self.pools[k].tp, cfg.network, need_nic=True,
                                       field="network"))
            except ConfigError as e:
                raise e.located(file=scen.source_file, field_prefix="cluster") from None
        spine = cfg.network.spine_bandwidth
        pool = None
        if cfg.kv_pool is not None:
            hw = self._pool_tier(platforms[self.pools[0].platform])
            n = max(1, hw.count)
            pool = (hw.read_bw * n, hw.write_bw * n, float(hw.latency))
        return ClusterNetwork(Network(self.env), placements, ports,
                              spine_bytes_per_s=None if spine is None else float(spine), pool=pool)

    def _pool_tier(self, platform):
        """The platform tier the shared pool is made of (``kv_pool.tier``)."""
        cfg, scen = self.cfg.kv_pool, self.scenario
        names = [t.name for t in platform.tiers if t.kind not in ("sram", "hbm")]
        if cfg.tier not in names:
            raise ConfigError(f"platform {platform.name!r} has no tier {cfg.tier!r} below HBM; it has: "
                              f"{', '.join(names) or 'none'}", file=scen.source_file, field="cluster.kv_pool.tier")
        return platform.tier(cfg.tier)

    def _kv_pool(self):
        """One TierStore every replica reaches over its NIC (Mooncake Store's pooled DRAM)."""
        cfg, scen = self.cfg.kv_pool, self.scenario
        if scen.kv.tiers:
            raise ConfigError("the shared pool is every replica's one lower tier: leave kv.tiers out",
                              file=scen.source_file, field="cluster.kv_pool")
        pool0 = self.pools[0]
        platform = load_platform(_resolve(pool0.platform, scen.base_dir))
        hw = self._pool_tier(platform)
        model = load_model(_resolve(pool0.model, scen.base_dir))
        per_token = int(round(CostModel(platform, model, tp=pool0.tp, dtype=scen.dtype).kv_bytes_per_token))
        cap = cfg.capacity
        if cap is None:
            cap = hw.capacity if hw.capacity is not None else "unlimited"
        store = TierStore(name=f"{hw.name}_pool", kind=hw.kind, capacity_bytes=None if cap == "unlimited" else int(cap),
                          chunk_tokens=cfg.chunk_tokens, kv_bytes_per_token=per_token, eviction=cfg.eviction)
        return SharedKVPool(store, self.network, hw=hw)

    def _count_leaving(self, rep: Replica) -> None:
        """A request leaves a replica when it is recorded there (finished or rejected)."""
        sched, record = rep.sched, rep.sched.record

        def recorded(seq, rep=rep, record=record):
            rep.left += 1
            record(seq)
        sched.record = recorded

    # ---- arrivals ---------------------------------------------------------------------
    def _peek(self):
        if self._next is None and not self.exhausted:
            r = next(self._requests, None)
            if r is None or r.arrival_s > self.max_time:
                self._finish_arrivals()
            else:
                self._next = r
        return self._next

    def _finish_arrivals(self) -> None:
        self.exhausted = True
        for rep in self.replicas:   # loops waiting for work learn that none will come
            rep.wake()

    def dispatch(self, now: float) -> None:
        """Route every arrival due by ``now`` (each goes to one replica's inbox)."""
        stage = self.stages["arrival"]
        while True:
            r = self._peek()
            if r is None or r.arrival_s > now:
                return
            self._next = None
            stage.pick(r, now).submit(r)

    def _dispatcher(self):
        env = self.env
        while True:
            self.dispatch(env.now)
            r = self._peek()
            if r is None:
                return
            yield env.timeout(r.arrival_s - env.now)

    def no_more_for(self, rep: Replica) -> bool:
        """True when no request can reach ``rep`` any more."""
        if not self.exhausted:
            return False
        if rep.role == "decode":
            return self.handoff.none_to_come(rep)
        return True

    # ---- running ----------------------------------------------------------------------
    def run(self) -> Result:
        wall0 = time.perf_counter()
        env = self.env
        total = expected_requests(self.scenario.workload, self.scenario.base_dir) if self.progress else None
        bar = Progress(enabled=self.progress, total=total, label="requests")
        done = [0]

        def tick(_seq):
            done[0] += 1
            bar.tick(env.now, done[0])
        for rep in self.replicas:
            rep.sched.on_finish = tick
        env.process(self._dispatcher())
        procs = [env.process(rep.loop.process()) for rep in self.replicas]
        if self.handoff is not None:
            decoders = [rep for rep in self.replicas if rep.role == "decode"]
            for rep, proc in zip(self.replicas, procs):
                if rep.role == "prefill":   # its last prompt is out: decode loops may be done
                    proc.callbacks.append(lambda _e: [d.wake() for d in decoders])
        env.run()
        ends = [rep.loop.end_s for rep in self.replicas]
        assert all(not p.is_alive for p in procs), "a replica's serve loop stalled waiting for an event that never came"
        self.end_s = max(e for e in ends if e is not None) if any(e is not None for e in ends) else env.now
        bar.close()
        if self.check:
            self._check()
        return self._result(time.perf_counter() - wall0)

    def _check(self) -> None:
        for rep in self.replicas:
            rep.kv.check()
        if self.pool is not None:
            self.pool.check(read_bytes=[rep.parts.hier.loaded_bytes[0] for rep in self.replicas])
        if self.index is not None:
            self.index.check([set(rep.kv.entries) for rep in self.replicas])

    # ---- the result -------------------------------------------------------------------
    def _result(self, wall: float) -> Result:
        end = self.end_s
        for rep in self.replicas:
            while rep.inbox:   # routed after its loop ended (max_sim_time): still there at the end
                rep.sched.arrive(rep.inbox.popleft(), end)
            rep.recorder.finish(end)
        if self.handoff is not None:
            self.handoff.finish(end)
        reqs = self.requests_table
        req = reqs.frame(sort_by="request_id")
        iters = pd.concat([rep.recorder.iterations.frame() for rep in self.replicas], ignore_index=True)
        iters = ITERATIONS.conform(iters.sort_values(["start_s", "replica"], kind="stable", ignore_index=True),
                                   cluster=True)
        tiers = TIERS.conform(pd.concat([rep.recorder.tiers for rep in self.replicas], ignore_index=True),
                              cluster=True)
        links = [rep.recorder.links for rep in self.replicas]
        if self.network is not None:
            links.append(self._network_links(end))
        links = LINKS.conform(pd.concat(links, ignore_index=True), cluster=True)
        replicas = self._replica_table(req, iters, tiers, end)
        summary = self._summary(req, replicas, end, wall)
        return Result(summary=summary, requests=req, iterations=iters, tiers=tiers, links=links,
                      scenario=self.scenario.model_dump(mode="json"), extras={"replicas": replicas})

    def _network_links(self, end: float) -> pd.DataFrame:
        """One row per cluster channel: its bytes over the whole run (the handoff's traffic)."""
        rows = []
        for ch in self.network.channels:
            bw = ch.bandwidth_fn(1)
            rows.append({"time_s": end, "link": ch.name, "direction": ch.direction, "bytes": ch.bytes_total,
                         "utilization": ch.bytes_total / (bw * end) if end > 0 else float("nan"), "replica": -1})
        return pd.DataFrame(rows, columns=LINKS.names(cluster=True))

    def _replica_table(self, req, iters, tiers, end) -> pd.DataFrame:
        hbm = {rep.parts.cost.hbm.name for rep in self.replicas}
        if len(hbm) == 1:
            out = per_replica(req, iters, tiers, replicas=len(self.replicas), duration_s=end, hbm=hbm.pop())
        else:   # pools of different platforms: each replica's own HBM tier
            parts = [per_replica(req, iters, tiers[tiers["replica"] == rep.index], replicas=len(self.replicas),
                                 duration_s=end, hbm=rep.parts.cost.hbm.name).iloc[[rep.index]]
                     for rep in self.replicas]
            out = pd.concat(parts, ignore_index=True)
        out.insert(1, "pool", [rep.pool for rep in self.replicas])
        out.insert(2, "role", [rep.role for rep in self.replicas])
        return out[["replica", "pool", "role"] + [c for c in REPLICA_COLUMNS if c != "replica"]]

    def _summary(self, req: pd.DataFrame, replicas: pd.DataFrame, end: float, wall: float) -> dict:
        """Totals over the cluster (latencies over all its requests), then a few keys per replica."""
        reps = self.replicas
        col = (lambda c: req[c].to_numpy())
        # every replica-level counter summed: the per-replica summaries use the one-engine code
        per = []
        for rep in reps:
            rows = req[req["replica"] == rep.index]
            per.append(summarize(rep.parts, rep.recorder, (lambda c, rows=rows: rows[c].to_numpy()),
                                 end_s=end, wall_s=wall, seed=self.scenario.seed))
        s = summarize_requests(col)
        out_tokens = int(req["generated_tokens"].sum())
        steps = sum(rep.recorder.steps_total for rep in reps)
        batch_steps = sum(rep.recorder.batch_steps for rep in reps)
        s.update({
            "sim_time_s": float(end), "wall_time_s": wall, "sim_speed": end / wall if wall > 0 else float("inf"),
            "throughput_tok_s": out_tokens / end if end > 0 else 0.0,
            "throughput_req_s": s["completed"] / end if end > 0 else 0.0,
            "iterations": int(steps), "batch_runs": int(sum(len(r.recorder.iterations) for r in reps)),
            "mean_batch_size": float(batch_steps / steps) if steps else 0.0,
        })
        first = per[0]
        summed = [k for k, v in first.items() if k not in s and isinstance(v, (int, float)) and not isinstance(v, bool)
                  and (k.endswith(("_bytes", "_blocks", "_tokens", "_evictions", "_turns", "_regrows"))
                       or k in ("kv_blocks", "prefix_evictions", "ttl_pinned_turns", "kv_regrows"))]
        shared = f"{self.pool.store.name}_" if self.pool is not None else None
        for k in summed:
            if shared is not None and k.startswith(shared):
                continue   # one pool, counted once (every replica's summary reads the same store)
            s[k] = type(first[k])(sum(p.get(k, 0) for p in per))
        for k, v in first.items():   # what one replica's model and policies give (same in every pool)
            if k not in s:
                s[k] = v
        for k in ("platform", "model", "tp"):
            vals = [str(p[k]) for p in per]
            s[k] = first[k] if len(set(vals)) == 1 else "+".join(dict.fromkeys(vals))
        for st in [k[: -len("_hit_blocks")] for k in first if k.endswith("_hit_blocks") and k != "hbm_hit_blocks"]:
            looked = s[f"{st}_hit_blocks"] + s[f"{st}_miss_blocks"]
            s[f"{st}_hit_ratio"] = s[f"{st}_hit_blocks"] / looked if looked else 0.0
        if "kv_waste_fraction" in s:
            s["kv_waste_fraction"] = float(np.average([p["kv_waste_fraction"] for p in per],
                                                      weights=[p["kv_capacity_bytes"] for p in per]))
        s["replicas"] = len(reps)
        s["router"] = self.stages["arrival"].router.name
        if self.handoff is not None:
            s["decode_router"] = self.stages["decode"].router.name
            s.update(kv_transfer_summary(req))
            s["kv_transfer_s"] = float(np.nansum(req["kv_transfer_s"].to_numpy(dtype=float)))
        if self.network is not None:
            for ch in self.network.channels:
                s[f"link_{ch.name}_{ch.direction}_bytes"] = float(ch.bytes_total)
        if self.pool is not None:
            s["kv_pool_duplicate_writes_avoided"] = int(self.pool.duplicate_writes_avoided)
        if self.scenario.slo is not None:
            slo = self.scenario.slo
            s.update(slo_goodput(req, ttft_s=slo.ttft, tpot_s=slo.tpot, duration_s=end))
        for row in replicas.itertuples(index=False):
            for k in _PER_REPLICA_KEYS:
                v = getattr(row, k)
                s[f"replica{row.replica}_{k}"] = int(v) if k in ("requests", "completed") else float(v)
            rows = req[(req["replica"] == row.replica) & (req["status"] == "completed")]
            s[f"replica{row.replica}_ttft_p50_s"] = float(np.nanmedian(rows["ttft_s"])) if len(rows) else math.nan
        return s
