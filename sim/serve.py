"""The serving loop: one SimPy process that admits arrivals, then runs iterations until the work ends.

Between changes of the batch's composition it advances decode iterations in closed
form: a decode-only iteration over n sequences holding S KV tokens takes ``a + b*S``
seconds, and S grows by n per step, so k steps take ``k*a + b*(k*S0 + n*k*(k+1)/2)``.
A run stops at the first completion, at the step where blocks would run out, or at
the first iteration boundary after the next arrival (when that arrival could be
admitted) — exactly where stepping every iteration would change the batch.

With ``scheduler.async_scheduling`` the plan of step k+1 is made while step k runs
(vLLM's asynchronous scheduling), so a step that follows a busy one sees only the
arrivals up to the start of the step before it: a request arriving during step k
joins step k+2.  After an idle wait the next step sees everything that has arrived.
"""
from __future__ import annotations

import math

import simpy

from .seq import Seq

__all__ = ["ServeLoop", "Wakeup", "WorkloadArrivals", "steps_to_reach", "run_time"]


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


class Wakeup:
    """How outside events (a transfer ending, a TTL expiring, a prefetch window closing) cut a
    waiting serve loop short: they call it; the loop waits on ``event()``.  A call nobody
    waits for is dropped at the next ``event()``."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._event = env.event()

    def __call__(self) -> None:
        if not self._event.triggered:
            self._event.succeed()

    def event(self) -> simpy.Event:
        if self._event.triggered:
            self._event = self.env.event()
        return self._event

    def after(self, delay_s: float, fn=None) -> None:
        """Run ``fn(now)`` (if given) after ``delay_s`` seconds, then wake the loop."""
        def fire(_ev):
            if fn is not None:
                fn(self.env.now)
            self()
        self.env.timeout(delay_s).callbacks.append(fire)


def reject(sched, req, reason: str) -> None:
    """A request refused at arrival (over the context window): recorded, never queued."""
    seq = Seq(req, sched.B)
    seq.status, seq.reason = "rejected", reason
    sched.n_done += 1
    sched.record(seq)


class WorkloadArrivals:
    """Where a serve loop's requests come from: here the workload itself, in arrival order.

    The loop asks three things: ``admit(sched, now, horizon)`` queues what has arrived by
    ``horizon`` (``now`` unless asynchronous scheduling holds later arrivals back);
    ``next_arrival_s()`` bounds decode runs and idle waits (None: not known here, so the
    loop waits on its wake event, which whoever routes a request to it fires); ``done()``
    says no request will come any more.  ``external`` is True when arrivals come from
    outside the loop (a cluster's router) and must cut a decode run short by waking it.
    ``context`` (the model's window) rejects or truncates each request as it is admitted.
    """

    external = False

    def __init__(self, requests, context=None):
        self.requests = requests
        self.context = context
        self._next = None

    def _peek(self):
        """The next request to arrive (not yet admitted), or None when the workload is done."""
        if self._next is None:
            self._next = next(self.requests, None)
        return self._next

    def admit(self, sched, now: float, horizon: float | None = None) -> None:
        horizon = now if horizon is None else horizon
        while True:
            r = self._peek()
            if r is None or r.arrival_s > horizon:
                return
            self._next = None
            if self.context is not None:
                fitted, reason = self.context.admit(r)
                if fitted is None:
                    reject(sched, r, reason)
                    continue
                r = fitted
            sched.arrive(r, now)

    def next_arrival_s(self) -> float | None:
        r = self._peek()
        return None if r is None else r.arrival_s

    def done(self) -> bool:
        return self._peek() is None


class ServeLoop:
    """Arrival, admission, iterations: ``process()`` is the SimPy process; ``end_s`` when it ended."""

    def __init__(self, env, parts, recorder, wake: Wakeup, *, closed_form: bool, max_time: float,
                 check: bool, async_scheduling: bool = False, arrivals=None):
        self.env, self.recorder, self.wake = env, recorder, wake
        self.sched, self.cost, self.kv, self.hier = parts.sched, parts.cost, parts.kv, parts.hier
        self.arrivals = arrivals if arrivals is not None else WorkloadArrivals(parts.requests, parts.context)
        self.beyond = parts.beyond       # weights streamed / experts fetched beyond HBM, or None
        # (the scenario refuses async scheduling with a router or streams beyond HBM)
        self.closed_form = closed_form
        self.max_time = max_time
        self.check = check
        self.end_s: float | None = None
        self.async_scheduling = async_scheduling
        # start of the step that has just ended, when the loop ran steps back to back
        # (None after an idle or outside wait): the admission horizon of async scheduling
        self._prev_start: float | None = None

    def _begin_step(self, now: float) -> None:
        """Admit what has arrived, sample, start queued writes, and (in tests) check the books."""
        horizon = now
        if self.async_scheduling and self._prev_start is not None:
            horizon = self._prev_start
        self.arrivals.admit(self.sched, now, horizon)
        self.recorder.sample(now)
        hier = self.hier
        if hier is not None:
            hier.flush(now)
        if self.check:
            self.kv.check()
            if hier is not None:
                hier.check()

    def process(self):
        env, sched = self.env, self.sched
        while True:
            now = env.now
            self._begin_step(now)
            if now >= self.max_time:
                self.end_s = now
                return
            if sched.idle():
                nxt = self.arrivals.next_arrival_s()
                self._prev_start = None
                if nxt is None:
                    if self.arrivals.done():
                        self.end_s = now
                        return
                    yield self.wake.event()   # a router hands this replica a request
                    continue
                if nxt > now:                 # (<= now: held back by async scheduling's horizon)
                    yield env.timeout(nxt - now)
                continue
            if self.closed_form and sched.decode_run_possible(now):
                upper = sched.decode_run_limit()
                if upper >= 1:
                    yield from self._decode_run(now, upper)
                    continue
            planned = sched.plan(now)
            if planned is None:
                self._prev_start = None
                yield from self._wait_outside(now)
                continue
            # one planned iteration (prefill chunks and/or decodes); inlined: the hottest path
            dur = self.cost.time(planned[0])
            if sched.on_iteration is not None:   # a cluster's layer-wise KV streams start with it
                sched.on_iteration(planned[1], now, dur)
            if self.beyond is not None:
                yield from self._beyond_iteration(now, dur, planned)
                continue
            yield env.timeout(dur)
            self._prev_start = now
            self._iterated(now, dur, *planned)

    def _beyond_iteration(self, now: float, compute_s: float, planned):
        """One planned iteration with weights or experts outside HBM: their stream holds its links."""
        bey = self.beyond
        dur, stall = bey.iteration(now, compute_s, planned[0], planned[1], self.sched.decoding)
        bey.hold()
        yield self.env.timeout(dur)
        bey.release(1, stall)
        self._iterated(now, dur, *planned, stall=stall)

    def _decode_run(self, now: float, upper: int):
        """Up to ``upper`` decode steps at once, cut at the next arrival, max_sim_time, or an outside event."""
        env, sched = self.env, self.sched
        n, s0 = sched.decode_batch()
        a, b = self.cost.decode_affine(n)
        bey = self.beyond
        if bey is not None:   # the run's first affine piece (streamed weights), or a + mean stall (experts)
            a0, b0 = a, b
            upper, a, b = bey.plan_run(n, s0, a, b, upper, sched.outside_pending())
        arrivals = self.arrivals
        nxt = arrivals.next_arrival_s()
        if nxt is not None and not sched.queued():
            delta = nxt - now
            if not self.async_scheduling:
                upper = steps_to_reach(a, b, s0, n, delta, upper)
            elif delta <= 0:
                upper = 1           # arrived during the step before: it joins after this one
            else:
                # arriving during step j, it is admitted at the end of step j + 1
                j = steps_to_reach(a, b, s0, n, delta, upper)
                if run_time(a, b, s0, n, j) >= delta:
                    upper = min(upper, j + 1)
        if self.max_time < math.inf:
            upper = steps_to_reach(a, b, s0, n, self.max_time - now, upper)
        if bey is not None:
            yield from self._beyond_run(now, n, s0, a0, b0, a, b, upper)
            return
        # a routed arrival cuts the run where the next arrival bounds it in a single engine
        cut = sched.outside_pending() or (arrivals.external and not sched.queued())
        upper, dur = yield from self._run_steps(now, a, b, s0, n, upper, cut)
        self.recorder.iteration(now, dur, upper, n, 0, n * upper, s0, 0.0)
        self._prev_start = now + run_time(a, b, s0, n, upper - 1)
        sched.advance_decode(upper, env.now)

    def _run_steps(self, now, a, b, s0, n, upper, cut: bool):
        """Wait out ``upper`` closed-form decode steps; returns (steps run, their seconds).

        With ``cut``, an outside event (a transfer, a timer, a routed arrival) can change what
        the next iteration holds: the run stops at the boundary of the step in progress."""
        env = self.env
        dur = run_time(a, b, s0, n, upper)
        if not cut:
            yield env.timeout(dur)
            return upper, dur
        wake = self.wake.event()
        yield env.timeout(dur) | wake
        if wake.triggered and env.now < now + dur:
            elapsed = env.now - now
            done = steps_to_reach(a, b, s0, n, elapsed, upper)
            rest = run_time(a, b, s0, n, done) - elapsed
            if rest > 0:
                yield env.timeout(rest)
            upper, dur = done, run_time(a, b, s0, n, done)
        return upper, dur

    def _beyond_run(self, now, n, s0, a0, b0, a, b, upper):
        """A decode run with weights or experts outside HBM (``a0 + b0*S``: compute alone)."""
        env, sched, bey = self.env, self.sched, self.beyond
        if bey.steps_each:   # experts: every step through the cache, no SimPy event per step
            dur, stall = bey.step_run(now, n, s0, a0, b0, upper, sched.decoding)
            bey.hold()
            yield env.timeout(dur)
        else:
            bey.hold()
            upper, dur = yield from self._run_steps(now, a, b, s0, n, upper, sched.outside_pending())
            stall = bey.ran(upper, dur, run_time(a0, b0, s0, n, upper))
        bey.release(upper, stall)
        self.recorder.iteration(now, dur, upper, n, 0, n * upper, s0, stall)
        sched.advance_decode(upper, env.now)

    def _iterated(self, now: float, dur: float, shape, chunks, stall: float = 0.0) -> None:
        """A planned iteration that started at ``now`` has ended: record it, apply it."""
        self.recorder.iteration(now, dur, 1, shape.decode_seqs + len(chunks), shape.prefill_tokens,
                                shape.decode_seqs, shape.decode_kv_tokens, stall)
        self.sched.apply(chunks, self.env.now)

    def _wait_outside(self, now: float):
        """Nothing can run now: wait for a transfer, a timer or the next arrival."""
        sched = self.sched
        if not (sched.outside_pending() or (self.hier is not None and sched.queued())):
            raise AssertionError("scheduler stalled with waiting requests and an empty batch")
        # everything runnable waits on a transfer (or a prefetch window)
        nxt = self.arrivals.next_arrival_s()
        wake = self.wake.event()
        if nxt is not None:
            yield self.env.timeout(nxt - now) | wake
        else:
            yield wake
