"""An SSD or flash device: how long requests take, from the tier's size x queue-depth curve.

One model of the device, evaluated two ways.  A request of ``s`` bytes (rounded up to
the tier's granularity) with ``d`` requests outstanding is served at the tier's curve
throughput ``bandwidth_at(s, d)`` (summed over ``devices`` drives), so it takes
``max(latency, d * s / bandwidth_at(s, d))``.  Closed forms price batches of known
requests (``memsim flash``, ``memsim offload``); ``channel`` gives the same curve as a
fair-share ``Channel`` of ``sim.link``, for transfers that share a path with others.
"""
from __future__ import annotations

from collections.abc import Callable

from memsim.ground.errors import ConfigError

from .link import Channel

__all__ = ["SSD", "LARGE_REQUEST_BYTES"]

LARGE_REQUEST_BYTES = 64 * 2**20
"""A request size on the flat (sequential) part of every shipped curve: whole-layer reads."""


class SSD:
    """A flash/SSD tier as ``devices`` drives, each with ``queue_depth`` request slots.

    ``SSD(tier)`` takes a hardware tier (anything with ``name``, ``latency``,
    ``granularity``, ``parallelism`` and ``bandwidth_at(size, queue_depth, write=)``);
    ``queue_depth`` defaults to the tier's ``parallelism`` and ``devices`` to 1 (one
    drive; pass ``tier.count`` to stripe over all of them).

        ssd = SSD(load_platform("laptop_flash").tier_of_kind("flash"))
        ssd.batch_time_s(256, 16 * 2**10)      # 256 reads of 16 KiB issued together
        ssd.channel(2 * 2**20)                 # the device as a fair-share channel
    """

    def __init__(self, tier, *, queue_depth: int | None = None, devices: int = 1):
        self.tier = tier
        depth = tier.parallelism if queue_depth is None else queue_depth
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"queue_depth={depth!r} must be an int >= 1", field="queue_depth")
        if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
            raise ConfigError(f"devices={devices!r} must be an int >= 1", field="devices")
        self.queue_depth = depth
        """Requests one drive serves at once (the host's outstanding-I/O limit)."""
        self.devices = devices
        self.has_curve = bool(getattr(tier, "bw_curve", None))
        """With a curve, access latency is inside the curve's throughput (its QD1 points are
        latency-bound); without one the device is a pipe of ``read_bw`` after ``latency``."""
        self._bw_cache: dict[tuple[int, int, bool], float] = {}

    def __repr__(self) -> str:
        return (f"SSD({getattr(self.tier, 'name', '?')}, queue_depth={self.queue_depth}, "
                f"devices={self.devices})")

    # ---- the curve ------------------------------------------------------------------
    def rounded_bytes(self, request_bytes: int) -> int:
        """Bytes the device actually moves: the request rounded up to the granularity."""
        g = max(1, int(getattr(self.tier, "granularity", 1) or 1))
        return -(-int(request_bytes) // g) * g

    def bandwidth_bytes_per_s(self, request_bytes: int, depth: int, *, write: bool = False) -> float:
        """Throughput of one drive with ``depth`` requests of ``request_bytes`` outstanding."""
        s = self.rounded_bytes(request_bytes)
        d = max(1, min(int(depth), self.queue_depth))
        key = (s, d, write)
        bw = self._bw_cache.get(key)
        if bw is None:   # NOTE: memoised for speed; the curve is fixed
            bw = self._bw_cache[key] = float(self.tier.bandwidth_at(s, d, write=write))
        return bw

    def sequential_bytes_per_s(self, *, write: bool = False) -> float:
        """Throughput of large requests at full depth over all ``devices`` (whole-layer reads)."""
        return self.devices * self.bandwidth_bytes_per_s(LARGE_REQUEST_BYTES, self.queue_depth,
                                                         write=write)

    # ---- closed forms for batches of known requests -----------------------------------
    def service_time_s(self, request_bytes: int, depth: int, *, write: bool = False) -> float:
        """Seconds one request of ``request_bytes`` takes with ``depth`` requests outstanding."""
        s = self.rounded_bytes(request_bytes)
        d = max(1, min(int(depth), self.queue_depth))
        return max(float(self.tier.latency), d * s / self.bandwidth_bytes_per_s(s, d, write=write))

    def batch_time_s(self, n_requests: int, request_bytes: int, *, write: bool = False) -> float:
        """``n_requests`` equal requests issued together to one drive finish after this long.

        Requests run in rounds of ``queue_depth``; the last, partial round runs at the
        smaller depth.
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
        """Closed form for a batch of reads of several sizes issued together to one drive.

        With ``n`` requests outstanding the drive runs at depth ``d = min(n,
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

    # ---- the same curve as a fair-share channel ------------------------------------------
    def channel_bandwidth_fn(self, request_bytes: int, *, write: bool = False) -> Callable[[int], float]:
        """``fn(n)``: bytes/s of the whole device with ``n`` transfers of ``request_bytes``
        requests on it (each transfer keeps one request outstanding per drive)."""
        devices = self.devices

        def bw(n: int) -> float:
            return devices * self.bandwidth_bytes_per_s(request_bytes, max(1, n), write=write)

        return bw

    @property
    def channel_latency_s(self) -> float:
        """Latency a transfer pays before it flows: 0 with a curve (the curve holds it)."""
        return 0.0 if self.has_curve else float(self.tier.latency)

    def channel(self, request_bytes: int, *, write: bool = False) -> Channel:
        """This device's read (or write) side as a ``sim.link.Channel``."""
        return Channel(getattr(self.tier, "name", "ssd"), "write" if write else "read",
                       self.channel_bandwidth_fn(request_bytes, write=write), self.channel_latency_s)
