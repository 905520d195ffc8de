"""Links: pipes that every transfer on them shares, in a fluid fair-share model.

A transfer follows a path of channels (a link in one direction, or a storage
device's read or write side).  Each channel's bandwidth is split equally among
the transfers crossing it, and a transfer moves at the smallest share along its
path; rates are recomputed whenever a transfer starts or ends.  A storage
channel's bandwidth depends on its request size and on how many transfers are
queued on it (the device's bandwidth-vs-queue-depth curve).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import simpy

__all__ = ["Channel", "Network", "Transfer"]

_EPS_BYTES = 1e-6


@dataclass(eq=False)
class Channel:
    """One direction of a link, or one side (read/write) of a storage device.

    bandwidth_fn(active_transfers) -> bytes/s for the whole channel.
    """
    name: str            # e.g. "pcie" or "ssd"
    direction: str       # e.g. "hbm->dram", "read"
    bandwidth_fn: Callable[[int], float]
    latency_s: float = 0.0
    bytes_total: float = 0.0     # exact, added when a transfer completes
    bytes_window: float = 0.0    # fluid bytes since the last sample
    busy_window_s: float = 0.0   # time with at least one transfer since the last sample
    active: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.direction)


@dataclass(eq=False)
class Transfer:
    nbytes: float
    channels: tuple[Channel, ...]
    done: simpy.Event
    remaining: float = 0.0
    rate: float = 0.0
    started_s: float = 0.0
    tag: str = ""
    meta: dict = field(default_factory=dict)


class Network:
    """All channels of one simulation and the transfers in flight on them."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.flows: list[Transfer] = []
        self._last = 0.0
        self._gen = 0
        self.completed = 0
        self.started = 0

    # ---- public ------------------------------------------------------------------
    def transfer(self, nbytes: float, channels: tuple[Channel, ...], *, tag: str = "", meta=None) -> simpy.Event:
        """Start moving ``nbytes`` along ``channels``; the returned event fires when done
        (after the path's latency plus the fluid transfer time) with the Transfer as value."""
        ev = self.env.event()
        t = Transfer(nbytes=float(nbytes), channels=tuple(channels), done=ev, remaining=float(nbytes),
                     started_s=self.env.now, tag=tag, meta=meta or {})
        self.started += 1
        latency = sum(c.latency_s for c in channels)
        if latency > 0:
            self.env.process(self._after(latency, t))
        else:
            self._add(t)
        return ev

    def hold(self, channels: tuple[Channel, ...]) -> None:
        """A stream outside the transfers (weights, experts) joins these channels as one more
        flow: every transfer on them gets the fair share less until ``release``."""
        self._advance()
        for c in channels:
            c.active += 1
        self._reschedule()

    def release(self, channels: tuple[Channel, ...]) -> None:
        self._advance()
        for c in channels:
            c.active -= 1
        self._reschedule()

    def account(self, nbytes: float, channels: tuple[Channel, ...]) -> None:
        """Bytes a held stream moved over these channels (its traffic in the counters)."""
        for c in channels:
            c.bytes_total += nbytes
            c.bytes_window += nbytes

    def in_flight(self) -> int:
        """Transfers started and not finished (including those still in their latency)."""
        return self.started - self.completed

    def estimate_s(self, nbytes: float, channels: tuple[Channel, ...]) -> float:
        """Time a new transfer of nbytes would take if the current sharing stayed as it is."""
        if nbytes <= 0:
            return 0.0
        rate = min(c.bandwidth_fn(c.active + 1) / (c.active + 1) for c in channels)
        return sum(c.latency_s for c in channels) + nbytes / rate

    def sample(self, channels=None) -> list[tuple[Channel, float, float]]:
        """Bring fluid counters up to now; return and reset (channel, bytes, busy_s) per channel seen
        (of ``channels`` only, when given: one owner's share of a network several sample)."""
        self._advance()
        out = []
        seen = set()
        for c in (self._all_channels if channels is None else channels):
            if id(c) in seen:
                continue
            seen.add(id(c))
            out.append((c, c.bytes_window, c.busy_window_s))
            c.bytes_window = 0.0
            c.busy_window_s = 0.0
        return out

    _all_channels: list = []

    def register(self, channel: Channel) -> Channel:
        if not self._all_channels:
            self._all_channels = []
        self._all_channels.append(channel)
        return channel

    # ---- fluid model -------------------------------------------------------------------
    def _after(self, delay: float, t: Transfer):
        yield self.env.timeout(delay)
        self._add(t)

    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._last
        if dt > 0 and self.flows:
            busy = set()
            for f in self.flows:
                moved = min(f.remaining, f.rate * dt)
                f.remaining -= moved
                for c in f.channels:
                    c.bytes_window += moved
                    busy.add(id(c))
            for c in self._all_channels:
                if id(c) in busy:
                    c.busy_window_s += dt
        self._last = now

    def _add(self, t: Transfer) -> None:
        self._advance()
        if t.nbytes <= 0:
            self.completed += 1
            t.done.succeed(t)
            return
        self.flows.append(t)
        for c in t.channels:
            c.active += 1
        self._reschedule()

    def _reschedule(self) -> None:
        # finish what is done, recompute shares, arm one timer for the next completion
        finished = [f for f in self.flows if f.remaining <= _EPS_BYTES * max(1.0, f.nbytes * 1e-9)]
        for f in finished:
            self.flows.remove(f)
            for c in f.channels:
                c.active -= 1
                c.bytes_total += f.nbytes
                c.bytes_window += f.remaining  # the rounding dust
            f.remaining = 0.0
            self.completed += 1
            f.done.succeed(f)
        if not self.flows:
            return
        shares = {}
        for f in self.flows:
            rate = float("inf")
            for c in f.channels:
                s = shares.get(id(c))
                if s is None:
                    s = c.bandwidth_fn(c.active) / c.active
                    shares[id(c)] = s
                rate = min(rate, s)
            f.rate = rate
        nxt = min(f.remaining / f.rate for f in self.flows)
        self._gen += 1
        self.env.process(self._timer(nxt, self._gen))

    def _timer(self, delay: float, gen: int):
        yield self.env.timeout(delay)
        if gen != self._gen:
            return  # superseded by a later change
        self._advance()
        # guarantee progress: the flow that defined this timer is done up to float dust
        for f in self.flows:
            if f.remaining <= f.rate * 1e-12 + _EPS_BYTES:
                f.remaining = 0.0
        self._reschedule()
