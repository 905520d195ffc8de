"""Progress of long runs on stderr, in every context, over tqdm.

A terminal gets tqdm's bar (count, total, rate, ETA), a Jupyter kernel with
ipywidgets gets tqdm's widget, and anything else (a log file, CI, a pipe, a
kernel without ipywidgets) gets a plain line every ``LOG_INTERVAL_S`` seconds and
one at the end, because a bar redrawn with carriage returns is unreadable there.
Nothing is shown for runs shorter than ``DELAY_S``.

    bar = Progress(total=300, label="requests", enabled=True)
    bar.tick(sim_time_s=12.5, done=17)      # or bar.advance() per finished item
    bar.close()
"""
from __future__ import annotations

import sys
import time
import warnings
from typing import IO

from tqdm.std import tqdm as _std_tqdm

__all__ = ["Progress", "DELAY_S", "LOG_INTERVAL_S"]

#: Seconds before anything is shown (short runs stay silent).
DELAY_S = 2.0
#: Seconds between two plain lines where the stream is not a terminal.
LOG_INTERVAL_S = 10.0


def _notebook_tqdm():
    """tqdm's notebook class inside a Jupyter kernel with ipywidgets, else None."""
    with warnings.catch_warnings():   # tqdm.auto warns when a kernel lacks ipywidgets
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm as auto_tqdm
    # outside a kernel tqdm.auto is the plain class (with asyncio support)
    notebook = any(c.__module__ == "tqdm.notebook" for c in auto_tqdm.__mro__)
    return auto_tqdm if notebook else None


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """One progress display: ``tick``/``advance`` it as items finish, ``close`` it at the end.

    ``enabled``: True shows progress wherever stderr goes; None shows it only in a
    terminal or a notebook (library calls stay quiet in logs); False shows nothing.
    ``total`` is the number of items when known (None: count and rate only).
    ``done`` counts items already finished before this run (a resumed sweep).
    """

    def __init__(self, *, total: int | None = None, label: str = "requests", enabled: bool | None = True,
                 done: int = 0, stream: IO[str] | None = None, delay_s: float | None = None,
                 interval_s: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.label, self.n = total, label, done
        self.delay_s = DELAY_S if delay_s is None else delay_s
        self.interval_s = LOG_INTERVAL_S if interval_s is None else interval_s
        self._t0 = time.perf_counter()
        self._initial = done
        self._sim_s: float | None = None
        self._next_line = self._t0 + self.delay_s
        self._lines = 0
        self._bar = None
        notebook = _notebook_tqdm() if stream is None else None
        interactive = _is_tty(self.stream) or notebook is not None
        self.enabled = bool(enabled) if enabled is not None else interactive
        if self.enabled and interactive:
            cls = notebook or _std_tqdm
            self._bar = cls(total=total, initial=done, unit=f" {label}", file=self.stream,
                            delay=self.delay_s, dynamic_ncols=True, leave=True)

    # ---- updates -----------------------------------------------------------------
    def tick(self, sim_time_s: float | None, done: int) -> None:
        """``done`` items have finished (absolute count); the simulation clock reads ``sim_time_s``."""
        self._sim_s = sim_time_s
        self._set(done)

    def advance(self, n: int = 1) -> None:
        """``n`` more items have finished."""
        self._set(self.n + n)

    def _set(self, done: int) -> None:
        step, self.n = done - self.n, done
        if not self.enabled:
            return
        if self._bar is not None:
            if self._sim_s is not None and self._bar.n + step >= self._bar.last_print_n + self._bar.miniters:
                self._bar.set_postfix_str(f"simulated {self._sim_s:,.0f} s", refresh=False)
            self._bar.update(step)
            return
        now = time.perf_counter()
        if now >= self._next_line:
            self._line(now)
            self._next_line = now + self.interval_s

    # ---- plain lines (logs, CI, pipes) ---------------------------------------------
    def line(self, now: float | None = None) -> str:
        """The plain progress line: ``label: 7/12 [58%] 0:04 elapsed, 1.7 runs/s, ETA 0:03``."""
        elapsed = (now or time.perf_counter()) - self._t0
        ran = self.n - self._initial
        rate = ran / elapsed if elapsed > 0 else 0.0
        count = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        pct = f" [{self.n / self.total:.0%}]" if self.total else ""
        parts = [f"{self.label}: {count}{pct}", f"{_std_tqdm.format_interval(elapsed)} elapsed",
                 f"{rate:,.1f} {self.label}/s"]
        if self.total and ran and self.n < self.total:
            parts.append(f"ETA {_std_tqdm.format_interval((self.total - self.n) / rate)}")
        if self._sim_s is not None:
            parts.append(f"simulated {self._sim_s:,.0f} s")
        return parts[0] + " " + ", ".join(parts[1:])

    def _line(self, now: float) -> None:
        self.stream.write(self.line(now) + "\n")
        self.stream.flush()
        self._lines += 1

    def close(self) -> None:
        """End the display (a final plain line where progress lines were printed)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and (self._lines or time.perf_counter() >= self._t0 + self.delay_s):
            self._line(time.perf_counter())
        self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
