"""A progress line on stderr for long runs: shown only on a terminal, after a couple of seconds."""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    def __init__(self, *, enabled: bool = True, delay_s: float = 2.0, total: int | None = None,
                 label: str = "requests", stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.total = total
        self.label = label
        self.t0 = time.perf_counter()
        self.delay_s = delay_s
        self._last = 0.0
        self._shown = False

    def tick(self, sim_time_s: float, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.t0 < self.delay_s or now - self._last < 0.2:
            return
        self._last = now
        wall = now - self.t0
        tot = f"/{self.total}" if self.total else ""
        eta = ""
        if self.total and done:
            eta = f", ETA {wall * (self.total - done) / done:.0f} s"
        self.stream.write(f"\r  {done}{tot} {self.label} done, simulated {sim_time_s:,.0f} s "
                          f"in {wall:.1f} s wall{eta}   ")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
