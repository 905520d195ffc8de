"""Occupancy and traffic samples on a regular grid, bounded in number whatever the simulated span.

A sample holds the state at the serving-loop step that reaches its time, so the samples
one step passes share their occupancy and (after the first) carry no traffic: they are
written as one vectorised block, and an idle gap costs O(1) Python work.  At most
``max_samples`` sample times are kept: past that the grid is thinned (every other time
kept, a dropped time's traffic added to the next kept one) and the interval doubled.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Samples", "SamplingWarning", "MAX_SAMPLES"]

#: Sample times one run keeps at most (plus the closing one): ~30 MiB of samples at worst.
MAX_SAMPLES = 100_000

_PYTHON_BLOCK = 64   # up to this many new times, a Python loop beats NumPy's call overhead


class SamplingWarning(UserWarning):
    """The sample interval was widened to keep the number of samples bounded."""


class Samples:
    """Per sample time: five int64 values and one float per tier row, and bytes per link row.

    ``state()`` returns (tier ints: used, cached, running, waiting, allocated per row, flat;
    tier kv_bytes per row; link bytes since the last call per row)."""

    def __init__(self, *, interval_s: float, tiers, capacities, links, bandwidths, state,
                 max_samples: int = MAX_SAMPLES):
        self.requested_s = self.interval_s = float(interval_s)
        self.next_s = 0.0
        self.max_samples = max(2, int(max_samples))
        self.tiers, self.capacities = list(tiers), list(capacities)
        self.links, self.bandwidths = list(links), np.asarray(bandwidths, dtype=float)  # (name, direction)
        self._state = state
        R, L = len(self.tiers), len(self.links)
        self._t = np.zeros(1024)
        self._ints = np.zeros((1024, R * 5), np.int64)
        self._kvb = np.zeros((1024, R))
        self._bytes = np.zeros((1024, L))
        self._carry = np.zeros(L)    # traffic owed to the next sample time (measured, or thinned out)
        self._carrying = False
        self.n = 0

    @property
    def widened(self) -> bool:
        return self.interval_s != self.requested_s

    def take(self, now: float) -> None:
        """Sample every grid time up to ``now`` with the current state."""
        if self.next_s > now:
            return
        ints, kvb, nbytes = self._state()
        self._owe(nbytes)
        while True:
            self._fit(now)
            if self.next_s > now:
                return      # thinning moved the grid past now: the traffic waits for the next time
            self._append(self._grid(now), ints, kvb)
            if self.next_s > now:
                return

    def close(self, now: float) -> None:
        """Sample up to ``now``, then one last time at ``now`` (closing a partial interval)."""
        self.take(now)
        if self.n and self._t[self.n - 1] == now:
            if self._carrying:
                self._bytes[self.n - 1] += self._carry
            return
        ints, kvb, nbytes = self._state()
        self._owe(nbytes)
        self._append([now], ints, kvb)

    def _owe(self, nbytes) -> None:
        """Traffic measured now belongs to the next sample time written."""
        if len(nbytes):
            self._carry += nbytes
            self._carrying = True

    # ---- the grid ------------------------------------------------------------------
    def _fit(self, now: float) -> None:
        """Thin until the times up to ``now`` fit and the interval still moves the clock."""
        while True:
            room = self.max_samples - self.n
            due = (now - self.next_s) / self.interval_s + 1.0
            # an interval below the float spacing of `now` would never advance it
            if due <= room and now + self.interval_s > now:
                return
            self._thin()

    def _grid(self, now: float) -> list | np.ndarray:
        """The next grid times up to ``now`` (at most the room left), advancing ``next_s``.

        NOTE: repeated addition, as the times always were; NumPy's accumulate adds in order."""
        room = self.max_samples - self.n
        want = min(room, int((now - self.next_s) / self.interval_s) + 2)
        step = self.interval_s
        if want <= _PYTHON_BLOCK:
            out, t = [], self.next_s
            while t <= now and len(out) < room:
                out.append(t)
                t += step
            self.next_s = t
            return out
        steps = np.full(want, step)
        steps[0] = self.next_s
        times = np.add.accumulate(steps)
        times = times[:int(np.searchsorted(times, now, side="right"))]
        self.next_s = float(times[-1]) + step
        return times

    def _thin(self) -> None:
        """Keep every other sample time, double the interval; dropped traffic moves forward."""
        n = self.n
        b = self._bytes
        if b.shape[1] and n > 1:
            b[2:n:2] += b[1:n - 1:2][: len(range(2, n, 2))]
            if n % 2 == 0:
                self._carry += b[n - 1]
                self._carrying = True
        keep = np.arange(0, n, 2)
        for name in ("_t", "_ints", "_kvb", "_bytes"):
            arr = getattr(self, name)
            arr[: len(keep)] = arr[keep]
        self.n = len(keep)
        self.interval_s *= 2.0
        if self.n:
            self.next_s = float(self._t[self.n - 1]) + self.interval_s

    def _append(self, times, ints, kvb) -> None:
        k, i = len(times), self.n
        if i + k > self._t.shape[0]:
            size = max(i + k, 2 * self._t.shape[0])
            for name in ("_t", "_ints", "_kvb", "_bytes"):
                arr = getattr(self, name)
                grown = np.zeros((size,) + arr.shape[1:], arr.dtype)
                grown[:i] = arr[:i]
                setattr(self, name, grown)
        self._t[i:i + k] = times
        self._ints[i:i + k] = ints
        self._kvb[i:i + k] = kvb
        self._bytes[i:i + k] = 0.0
        if self._carrying:   # the traffic owed goes to the first of them
            self._bytes[i] = self._carry
            self._carry[:] = 0.0
            self._carrying = False
        self.n = i + k

    # ---- tables ---------------------------------------------------------------------
    def tier_columns(self) -> dict[str, np.ndarray]:
        n, R = self.n, len(self.tiers)
        ints = self._ints[:n].reshape(n, R, 5)
        cap = np.asarray(self.capacities, dtype=float if any(c == float("inf") for c in self.capacities)
                         else np.int64)
        cols = {"time_s": np.repeat(self._t[:n], R), "tier": np.tile(np.asarray(self.tiers, object), n),
                "capacity_bytes": np.tile(cap, n), "kv_bytes": self._kvb[:n].ravel()}
        for j, name in enumerate(("used_bytes", "cached_bytes", "running", "waiting", "allocated_bytes")):
            cols[name] = ints[:, :, j].ravel()
        return cols

    def link_columns(self) -> dict[str, np.ndarray]:
        n, L = self.n, len(self.links)
        t = self._t[:n]
        span = t - np.concatenate(([0.0], t[:-1]))
        b = self._bytes[:n]
        with np.errstate(invalid="ignore"):
            util = np.where(span[:, None] > 0, b / (self.bandwidths[None, :] * np.maximum(span, 1e-12)[:, None]),
                            0.0)
        util[:, np.isnan(self.bandwidths)] = np.nan    # the all-reduce row has no single bandwidth
        names = np.asarray([name for name, _ in self.links], object)
        dirs = np.asarray([d for _, d in self.links], object)
        return {"time_s": np.repeat(t, L), "link": np.tile(names, n), "direction": np.tile(dirs, n),
                "bytes": b.ravel(), "utilization": util.ravel()}
