"""One optimizer step in SimPy: compute, collectives and offload traffic overlapped.

Each pipeline stage is a process on one representative accelerator (see
``paths``).  It runs its micro-batches in 1F1B (or GPipe) order; each pass walks
the stage's units, yielding compute timeouts and waiting, where it must, on
transfers that other processes started earlier: ZeRO-3 gathers one unit ahead
(ZeRO-Infinity reads the shard from DRAM or NVMe first), offloaded activations
come back one layer ahead of their backward, gradients are reduce-scattered
(stage 1: the last micro-batch, stages 2, 3: every one) or all-reduced (stage
0, the last micro-batch) as soon as a unit's backward ends, and pipeline sends arrive as transfers.  Then
the optimizer runs: on the accelerator for the fraction in HBM; on the CPU for
the rest, ``OPTIMIZER_BUFFERS`` sub-groups at a time, as DRAM/CXL streams with
NVMe swaps in and out (ZeRO-Offload, ZeRO-Infinity); updated weights go back
up and, at stages 1 and 2, are all-gathered.  The CPU Adam is memory-bound:
its time is the bytes it streams, not its FLOPs.  Every wait of a stage's
compute stream is recorded with its reason; that is the step-time breakdown.
"""
from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field

import simpy

from memsim.sim.link import Network

from .layout import Layout
from .memory import OPTIMIZER_BUFFERS, activation_fractions, offload_window
from .paths import Paths
from .scenario import BYTES
from .units import stage_units

__all__ = ["StepTiming", "simulate_step"]


@dataclass
class StepTiming:
    step_s: float
    breakdown: list            # per stage: {reason: seconds}, summing to step_s
    spans: list                # (stage, what, start_s, end_s)
    traffic: dict              # channel -> bytes, per representative accelerator
    events: int = 0
    extras: dict = field(default_factory=dict)


def _schedule(kind: str, stage: int, stages: int, micro: int) -> list[tuple[str, int]]:
    """("F"|"B", micro-batch) in the order a stage runs them (1F1B: PipeDream-Flush)."""
    if kind == "gpipe":
        return [("F", m) for m in range(micro)] + [("B", m) for m in range(micro)]
    warm = min(stages - stage - 1, micro)
    ops = [("F", m) for m in range(warm)]
    for j in range(micro - warm):
        ops += [("F", warm + j), ("B", j)]
    return ops + [("B", m) for m in range(micro - warm, micro)]


class _Step:
    def __init__(self, lay: Layout, kernels):
        self.lay, self.kernels = lay, kernels
        sc = lay.scenario
        self.sc, self.zero = sc, sc.parallelism.zero_stage
        self.env = simpy.Environment()
        self.net = Network(self.env)
        self.paths = Paths(self.net, lay)
        self.hbm = lay.hbm.name
        self.units = [stage_units(lay, st, kernels) for st in lay.stages]
        pr = sc.precision
        self.p_b, self.g_b, self.k_b = BYTES[pr.compute], BYTES[pr.grads], pr.optimizer_bytes_per_param
        self.act_b = BYTES[pr.activations]
        place = sc.placement
        self.param_off = {t: f for t, f in place.params.items() if t != self.hbm}
        self.grad_off = {t: f for t, f in place.grads.items() if t != self.hbm}
        self.opt_off = {t: f for t, f in place.optimizer.items() if t != self.hbm}
        self.act_off = [{t: f for t, f in activation_fractions(lay, st).items() if t != self.hbm}
                        for st in lay.stages]
        self.gather_needed = self.zero == 3 and (lay.dp > 1 or bool(self.param_off))
        self.spans: list = []
        self.time = [defaultdict(float) for _ in lay.stages]
        self.reductions = [[] for _ in lay.stages]
        self.events: dict = {}
        self.offloads = [deque() for _ in lay.stages]
        self.windows = [offload_window(lay, st) for st in lay.stages]
        self.swapped: dict = {}
        self.prefetched: dict = {}
        self.optimizer_slots = simpy.Resource(self.env, capacity=OPTIMIZER_BUFFERS)

    # ---- bookkeeping ---------------------------------------------------------------------
    def _ev(self, key) -> simpy.Event:
        ev = self.events.get(key)
        if ev is None:
            ev = self.events[key] = self.env.event()
        return ev

    def compute(self, s: int, seconds: float, what: str):
        if seconds > 0:
            t0 = self.env.now
            yield self.env.timeout(seconds)
            self.time[s][what] += seconds
            self.spans.append((s, what, t0, self.env.now))

    def wait(self, s: int, ev, reason: str):
        t0 = self.env.now
        yield ev
        if self.env.now > t0:
            self.time[s][reason] += self.env.now - t0
            self.spans.append((s, f"wait: {reason}", t0, self.env.now))

    def done(self):
        ev = self.env.event()
        ev.succeed()
        return ev

    # ---- transfers -------------------------------------------------------------------------
    def collective(self, s: int, nbytes: float, n: int, op: str):
        """A ring collective: (n-1)/n of the buffer leaves each accelerator per phase
        (all-reduce = reduce-scatter + all-gather), never faster than the kernel model says."""
        if n <= 1 or nbytes <= 0:
            return self.done()
        phases = 2 if op == "all_reduce" else 1
        vol = phases * (n - 1) / n * nbytes
        floor = self.kernels.all_reduce(nbytes, n) * phases / 2
        return self.env.all_of([self.net.transfer(vol, (self.paths.gpu_peer(s),), tag=op),
                                self.env.timeout(floor)])

    def move(self, nbytes: float, fractions: dict, path_fn, tag: str):
        evs = [self.net.transfer(nbytes * f, path_fn(t), tag=tag) for t, f in fractions.items() if f > 0]
        return self.env.all_of(evs) if evs else self.done()

    def gather(self, s: int, i: int):
        """ZeRO-3: bring unit i's weights to every rank of the stage (a process)."""
        return self.env.process(self._gather(s, self.units[s][i]))

    def _gather(self, s: int, u):
        dp = self.lay.dp
        if self.param_off:
            shard = self.p_b * math.ceil(u.params / dp)
            yield self.move(shard, self.param_off, lambda t: self.paths.to_gpu(t, s), "param fetch")
        yield self.collective(s, self.p_b * u.params, dp, "all_gather")

    # ---- activation offload ------------------------------------------------------------------
    def offload(self, s: int, m: int, i: int, u):
        """Send a layer's stored activations to the host, at most ``offload_window`` layers in transit."""
        q = self.offloads[s]
        while len(q) >= self.windows[s]:
            yield from self.wait(s, q.popleft(), "activation offload")
        ev = self.move(u.stored_bytes, self.act_off[s], lambda t: self.paths.from_gpu(t, s), "act offload")
        q.append(ev)
        self.swapped[(s, m, i)] = ev

    def fetch(self, s: int, m: int, i: int):
        u = self.units[s][i]
        if not (self.act_off[s] and u.offloadable and u.stored_bytes):
            return self.done()
        return self.env.process(self._fetch(s, m, i, u))

    def _fetch(self, s, m, i, u):
        yield self.swapped.pop((s, m, i))
        yield self.move(u.stored_bytes, self.act_off[s], lambda t: self.paths.to_gpu(t, s), "act fetch")

    # ---- passes ------------------------------------------------------------------------------
    def forward(self, s: int, m: int):
        units, tp = self.units[s], self.lay.tp
        if s > 0:
            yield from self.wait(s, self._ev(("F", s, m)), "pipeline")
        nxt = self.gather(s, 0) if self.gather_needed else None
        for i, u in enumerate(units):
            if nxt is not None:
                cur = nxt
                nxt = self.gather(s, i + 1) if i + 1 < len(units) else None
                yield from self.wait(s, cur, "param gather")
            yield from self.compute(s, u.forward_s, "forward")
            if u.tp_bytes:
                yield from self.wait(s, self.collective(s, u.tp_bytes, tp, "all_reduce"), "tp comm")
            if self.act_off[s] and u.offloadable and u.stored_bytes:
                yield from self.offload(s, m, i, u)
        if s + 1 < self.lay.pp:
            self._send(s, ("F", s + 1, m))

    def _send(self, s: int, key):
        sp = self.lay.tp if self.sc.parallelism.sequence_parallel else 1
        nbytes = self.lay.tokens_per_micro_batch * self.lay.model.hidden * self.act_b / sp
        ev = self.net.transfer(nbytes, (self.paths.gpu_peer(s),), tag="pipeline")
        target = self._ev(key)
        ev.callbacks.append(lambda _e: target.succeed())

    def backward(self, s: int, m: int):
        units, tp, last = self.units[s], self.lay.tp, m == self.lay.grad_accum - 1
        if s + 1 < self.lay.pp:
            yield from self.wait(s, self._ev(("B", s, m)), "pipeline")
        n = len(units)
        nxt = self.gather(s, n - 1) if self.gather_needed else None
        fetch = self.prefetched.pop((s, m), None) or self.fetch(s, m, n - 1)
        for i in reversed(range(n)):
            u = units[i]
            if nxt is not None:
                cur = nxt
                nxt = self.gather(s, i - 1) if i > 0 else None
                yield from self.wait(s, cur, "param gather")
            yield from self.wait(s, fetch, "activation fetch")
            fetch = self.fetch(s, m, i - 1) if i > 0 else None
            yield from self.compute(s, u.recompute_s, "recompute")
            if u.recompute_s and u.recompute_tp and u.tp_bytes:
                yield from self.wait(s, self.collective(s, u.tp_bytes, tp, "all_reduce"), "tp comm")
            yield from self.compute(s, u.backward_s, "backward")
            if u.tp_bytes:
                yield from self.wait(s, self.collective(s, u.tp_bytes, tp, "all_reduce"), "tp comm")
            self._reduce(s, u, last)
        if s > 0:
            self._send(s, ("B", s - 1, m))

    def _reduce(self, s: int, u, last: bool):
        dp = self.lay.dp
        if self.zero >= 2 or (self.zero == 1 and last):      # each rank keeps its partition
            ev = self.collective(s, self.g_b * u.owned, dp, "reduce_scatter")
        elif last:                                              # replicated optimizer: all-reduce
            ev = self.collective(s, self.g_b * u.owned, dp, "all_reduce")
        else:
            return
        if self.grad_off:
            elems = math.ceil(u.owned / dp) if self.zero >= 1 else u.owned
            ev = self.env.process(self._then(ev, lambda: self.move(
                self.g_b * elems, self.grad_off, lambda t: self.paths.from_gpu(t, s), "grad offload")))
        self.reductions[s].append(ev)

    def _then(self, first, make):
        yield first
        yield make()

    # ---- optimizer -----------------------------------------------------------------------------
    def optimizer(self, s: int):
        yield from self.wait(s, self.env.all_of(self.reductions[s]), "grad sync")
        dp, units = self.lay.dp, self.units[s]
        shard = (lambda p: math.ceil(p / dp)) if self.zero >= 1 else (lambda p: p)
        on_gpu = self.sc.placement.optimizer.get(self.hbm, 0.0)
        if on_gpu:
            elems = sum(shard(u.owned) for u in units) * on_gpu
            nbytes = elems * (self.g_b + 2 * self.k_b + self.p_b)   # read grads and states, write states and weights
            yield from self.compute(s, self.kernels.elementwise(nbytes), "optimizer (gpu)")
        if self.opt_off:
            procs = [self.env.process(self._cpu_update(s, shard(u.owned))) for u in units if u.owned]
            yield from self.wait(s, self.env.all_of(procs), "optimizer (cpu)")
        if self.zero in (1, 2) and dp > 1:
            evs = [self.collective(s, self.p_b * u.owned, dp, "all_gather") for u in units]
            yield from self.wait(s, self.env.all_of(evs), "param all-gather")

    def _cpu_update(self, s: int, elems: int):
        """One sub-group on the CPU: grads down (if they stayed in HBM), states in from NVMe,
        the Adam stream over DRAM/CXL, states back to NVMe, bf16 weights to where they live."""
        paths, dram = self.paths, self.lay.tiers["dram"].name
        place = self.sc.placement
        with self.optimizer_slots.request() as slot:
            yield slot
            e = elems * sum(self.opt_off.values())
            g_hbm = place.grads.get(self.hbm, 0.0)
            if g_hbm:
                yield self.move(self.g_b * e * g_hbm, {dram: 1.0}, lambda t: paths.from_gpu(t, s),
                                "grad offload")
            homes = {t: elems * f for t, f in self.opt_off.items()}
            on_ssd = {t: n for t, n in homes.items() if self.lay.kind_of(t) == "ssd"}
            swap_in = [self.net.transfer(self.k_b * n, paths.host(t, dram), tag="opt swap in")
                       for t, n in on_ssd.items()]
            swap_in += [self.net.transfer(self.g_b * elems * f, paths.host(t, dram), tag="grad swap in")
                        for t, f in self.grad_off.items() if self.lay.kind_of(t) == "ssd"]
            if swap_in:
                yield self.env.all_of(swap_in)
            streams = []
            for t, n in homes.items():
                w = dram if t in on_ssd else t
                streams += [self.net.transfer((self.k_b + self.g_b) * n, paths.cpu_stream(w, write=False),
                                              tag="adam read"),
                            self.net.transfer(self.k_b * n, paths.cpu_stream(w, write=True), tag="adam write")]
            yield self.env.all_of(streams)
            back = [self.net.transfer(self.k_b * n, paths.host(dram, t), tag="opt swap out")
                    for t, n in on_ssd.items()]
            for tier, f in place.params.items():
                if tier == self.hbm:
                    back.append(self.net.transfer(self.p_b * e * f, paths.to_gpu(dram, s), tag="param upload"))
                elif self.lay.kind_of(tier) == "ssd":
                    back.append(self.net.transfer(self.p_b * e * f, paths.host(dram, tier), tag="param write"))
            if back:
                yield self.env.all_of(back)

    # ---- the stage -----------------------------------------------------------------------------
    def stage(self, s: int):
        ops = _schedule(self.sc.parallelism.schedule, s, self.lay.pp, self.lay.grad_accum)
        last = len(self.units[s]) - 1
        for k, (op, m) in enumerate(ops):
            nxt = ops[k + 1] if k + 1 < len(ops) else None
            if nxt and nxt[0] == "B" and nxt[1] != m:
                # the next backward's micro-batch finished its forward earlier: bring its last
                # layer's activations back while this pass runs (PipeOffload prefetches ahead)
                self.prefetched[(s, nxt[1])] = self.fetch(s, nxt[1], last)
            yield from (self.forward(s, m) if op == "F" else self.backward(s, m))
        yield from self.optimizer(s)
        self.finished[s] = self.env.now

    def run(self) -> StepTiming:
        self.finished = [0.0] * self.lay.pp
        for s in range(self.lay.pp):
            self.env.process(self.stage(s))
        self.env.run()
        step = max(self.finished)
        breakdown = []
        for s, t in enumerate(self.time):
            row = dict(t)
            if step > self.finished[s]:
                row["step barrier"] = step - self.finished[s]
            breakdown.append(row)
        return StepTiming(step_s=step, breakdown=breakdown, spans=self.spans,
                          traffic=self.paths.traffic(), events=self.net.started)


def simulate_step(lay: Layout, kernels) -> StepTiming:
    """Simulate one optimizer step of ``lay`` with kernel times from ``kernels``."""
    return _Step(lay, kernels).run()
