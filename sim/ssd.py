"""An SSD or flash device as a SimPy resource: reads and writes share its queue slots.

A request of ``s`` bytes (rounded up to the tier's access granularity) holds one of
``queue_depth`` slots; with ``d`` requests outstanding the device delivers the
tier's curve throughput ``bandwidth_at(s, d)``, so one request is served in
``d * s / bandwidth_at(s, d)`` seconds (never less than the access latency).
"""
from __future__ import annotations

import math

import simpy

from memsim.ground.errors import ConfigError, check_positive

__all__ = ["SSD"]


class SSD:
    """A flash/SSD tier as a queue of ``queue_depth`` parallel request slots.

    ``SSD(env, tier)`` takes a hardware tier (anything with ``name``, ``latency``,
    ``granularity``, ``parallelism`` and ``bandwidth_at(size, queue_depth, write=)``);
    ``read(nbytes, request_size)`` and ``write(...)`` are generators an engine
    process yields from::

        yield from ssd.read(64 * 2**20, request_size=128 * 2**10)

    Every request is counted in ``stats()``: bytes, requests, mean latency and the
    time-average number of requests in the device (queued + in service).
    """

    def __init__(self, env: simpy.Environment, tier, *, queue_depth: int | None = None):
        self.env = env
        self.tier = tier
        depth = tier.parallelism if queue_depth is None else queue_depth
        if not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"queue_depth={depth!r} must be an int >= 1", field="queue_depth")
        self.queue_depth = depth
        """Requests the device serves at once (the host's outstanding-I/O limit)."""
        self._slots = simpy.Resource(env, capacity=depth)
        self._in_system = 0
        self._area = 0.0            # integral of requests-in-system over time
        self._last_change_s = env.now
        self._start_s = env.now
        self.requests = {"read": 0, "write": 0}
        self.bytes = {"read": 0, "write": 0}
        self._latency_sum_s = 0.0
        self._busy_s = 0.0          # time with at least one request in the device
        self._service_cache: dict[tuple[int, int, bool], float] = {}

    # ---- the cost model, shared with closed-form users --------------------------
    def rounded_bytes(self, request_bytes: int) -> int:
        """Bytes the device actually moves: the request rounded up to the granularity."""
        g = max(1, int(getattr(self.tier, "granularity", 1) or 1))
        return -(-int(request_bytes) // g) * g

    def service_time_s(self, request_bytes: int, depth: int, *, write: bool = False) -> float:
        """Seconds one request of ``request_bytes`` takes with ``depth`` requests outstanding."""
        s = self.rounded_bytes(request_bytes)
        d = max(1, min(int(depth), self.queue_depth))
        key = (s, d, write)
        t = self._service_cache.get(key)
        if t is None:
            bw = self.tier.bandwidth_at(s, d, write=write)
            t = self._service_cache[key] = max(float(self.tier.latency), d * s / bw)
        return t

    def batch_time_s(self, n_requests: int, request_bytes: int, *, write: bool = False) -> float:
        """Closed form: ``n_requests`` equal requests issued together finish after this long.

        Requests run in rounds of ``queue_depth``; the last, partial round runs at the
        smaller depth.  ``read``/``write`` with the same arguments take exactly this long
        on an idle device (a test checks it).
        """
        n, q = int(n_requests), self.queue_depth
        if n <= 0:
            return 0.0
        full, rest = divmod(n, q)
        t = full * self.service_time_s(request_bytes, q, write=write)
        if rest:
            t += self.service_time_s(request_bytes, rest, write=write)
        return t

    def mixed_batch_time_s(self, sizes_bytes, counts, *, write: bool = False) -> float:
        """Closed form for a batch of reads of several sizes issued together.

        With ``n`` requests outstanding the device runs at depth ``d = min(n,
        queue_depth)`` and each request costs ``service_time_s(size, d) / d`` of wall
        time (its share of the parallel slots).  Equals ``batch_time_s`` when all
        sizes are equal and ``n`` is a multiple of ``queue_depth``.
        """
        n = int(sum(int(c) for c in counts))
        if n <= 0:
            return 0.0
        d = min(n, self.queue_depth)
        return sum(int(c) * self.service_time_s(int(s), d, write=write)
                   for s, c in zip(sizes_bytes, counts)) / d

    # ---- engine processes ------------------------------------------------------------
    def read(self, nbytes: int, request_size: int | None = None):
        """Read ``nbytes`` as requests of ``request_size`` bytes issued at once; wait for all."""
        yield from self._transfer(nbytes, request_size, write=False)

    def write(self, nbytes: int, request_size: int | None = None):
        """Write ``nbytes`` as requests of ``request_size`` bytes issued at once; wait for all."""
        yield from self._transfer(nbytes, request_size, write=True)

    def request(self, request_bytes: int, *, write: bool = False):
        """One request as its own process (for open-loop arrivals); returns the Process."""
        return self.env.process(self._serve(int(request_bytes), write))

    def _transfer(self, nbytes, request_size, *, write):
        check_positive("nbytes", nbytes, allow_zero=True)
        if nbytes == 0:
            return
        size = int(nbytes if request_size is None else request_size)
        check_positive("request_size", size)
        n_full, tail = divmod(int(nbytes), size)
        procs = [self.env.process(self._serve(size, write)) for _ in range(n_full)]
        if tail:
            procs.append(self.env.process(self._serve(tail, write)))
        yield self.env.all_of(procs)

    def _serve(self, request_bytes: int, write: bool):
        arrive_s = self.env.now
        self._change(+1)
        with self._slots.request() as slot:
            yield slot
            depth = min(self._in_system, self.queue_depth)
            yield self.env.timeout(self.service_time_s(request_bytes, depth, write=write))
        self._change(-1)
        kind = "write" if write else "read"
        self.requests[kind] += 1
        self.bytes[kind] += self.rounded_bytes(request_bytes)
        self._latency_sum_s += self.env.now - arrive_s
        return self.env.now - arrive_s

    def _change(self, delta: int) -> None:
        now = self.env.now
        dt = now - self._last_change_s
        self._area += self._in_system * dt
        if self._in_system > 0:
            self._busy_s += dt
        self._in_system += delta
        self._last_change_s = now

    # ---- statistics ---------------------------------------------------------------------
    @property
    def in_system(self) -> int:
        """Requests queued or in service right now."""
        return self._in_system

    def stats(self) -> dict:
        """Counts since construction, up to ``env.now``."""
        self._change(0)
        elapsed = self.env.now - self._start_s
        done = self.requests["read"] + self.requests["write"]
        return {
            "tier": getattr(self.tier, "name", "ssd"),
            "queue_depth": self.queue_depth,
            "read_requests": self.requests["read"],
            "write_requests": self.requests["write"],
            "read_bytes": self.bytes["read"],
            "write_bytes": self.bytes["write"],
            "elapsed_s": elapsed,
            "busy_s": self._busy_s,
            "mean_latency_s": self._latency_sum_s / done if done else math.nan,
            "mean_in_system": self._area / elapsed if elapsed > 0 else math.nan,
            "read_bytes_per_s": self.bytes["read"] / self._busy_s if self._busy_s > 0 else 0.0,
            "write_bytes_per_s": self.bytes["write"] / self._busy_s if self._busy_s > 0 else 0.0,
        }
