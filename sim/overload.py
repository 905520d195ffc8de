"""Whether arrivals outran the simulated system: TTFT that keeps growing with arrival time.

A stable server's time to first token has no trend over a run; an overloaded one queues
every new request behind the backlog, so TTFT grows about linearly with arrival time at a
rate of ``offered / served - 1`` seconds per second.  Latency percentiles of such a run
describe the queue, not the system, and the summary says so.
"""
from __future__ import annotations

import numpy as np

__all__ = ["queue_growth", "OVERLOAD_GROWTH", "OVERLOAD_TTFT_S", "overload_hint"]

#: TTFT growth (s per s of arrivals) above which a run counts as overloaded
OVERLOAD_GROWTH = 0.02
#: ... when the last fifth of arrivals also waits at least this long (median TTFT, s)
OVERLOAD_TTFT_S = 1.0
#: fewer completed requests than this: no verdict
MIN_REQUESTS = 50


def queue_growth(arrival_s, ttft_s) -> dict:
    """``queue_growth_s_per_s`` (least-squares slope of TTFT over arrival time, completed
    requests) and ``overloaded`` (the slope exceeds ``OVERLOAD_GROWTH``, the last fifth of
    arrivals waits a median of at least ``OVERLOAD_TTFT_S`` and at least twice the first
    fifth's).  NaN / False with fewer than ``MIN_REQUESTS`` requests or no spread in time."""
    a = np.asarray(arrival_s, dtype=float)
    t = np.asarray(ttft_s, dtype=float)
    ok = np.isfinite(a) & np.isfinite(t)
    a, t = a[ok], t[ok]
    out = {"queue_growth_s_per_s": float("nan"), "overloaded": False}
    if a.size < MIN_REQUESTS or np.ptp(a) <= 0:
        return out
    order = np.argsort(a, kind="stable")
    a, t = a[order], t[order]
    da = a - a.mean()
    slope = float((da * (t - t.mean())).sum() / (da * da).sum())
    fifth = max(1, a.size // 5)
    first, last = float(np.median(t[:fifth])), float(np.median(t[-fifth:]))
    out["queue_growth_s_per_s"] = slope
    out["overloaded"] = bool(slope > OVERLOAD_GROWTH and last >= OVERLOAD_TTFT_S and last >= 2.0 * first)
    return out


def overload_hint(summary: dict) -> str | None:
    """The one line ``memsim run`` prints under an overloaded run's summary (None otherwise)."""
    if not summary.get("overloaded"):
        return None
    g = summary.get("queue_growth_s_per_s", float("nan"))
    return (f"note: arrivals exceed what this system serves: TTFT grows {g:.2f} s per second of "
            f"arrivals, so the latencies above measure the queue; lower the rate or add capacity "
            f"(docs/metrics.md, overload)")
