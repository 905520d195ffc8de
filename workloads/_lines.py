"""Shared plumbing for trace readers: where a path points, numbered UTF-8 lines, clock text.

A reader opens its file through ``iter_lines`` so that undecodable bytes, a missing
file and a truncated last line all become one ``TraceError`` naming file and line.
"""
from __future__ import annotations

import datetime as _dt
import gzip
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from memsim.ground.errors import TraceError

__all__ = ["TRACE_DIR_ENV", "MAX_TOKENS", "resolve_path", "trace_candidates", "iter_lines",
           "WallClock", "trace_error"]

MAX_TOKENS = 2**31 - 1
"""Largest prompt or output length a trace row may give (anything above is garbage)."""

TRACE_DIR_ENV = "MEMSIM_TRACE_DIR"
"""When set, a relative trace path with a ``traces/`` component is looked up under this folder first."""


def trace_candidates(path: str | os.PathLike, base_dir: str | os.PathLike | None) -> list[Path]:
    """Where a trace path may point, in lookup order (see ``resolve_path``)."""
    p = Path(os.path.expanduser(os.path.expandvars(str(path))))
    if p.is_absolute():
        return [p]
    out = []
    trace_dir = os.environ.get(TRACE_DIR_ENV)
    if trace_dir and "traces" in p.parts:
        rest = p.parts[p.parts.index("traces") + 1:]
        out.append(Path(os.path.expanduser(trace_dir)).joinpath(*rest))
    out.append(Path(base_dir or ".") / p)
    return out


def resolve_path(path: str | os.PathLike, base_dir: str | os.PathLike | None) -> Path:
    """Expand ``$VARS``/``~``, then resolve a relative path; the lookup order is

    1. an absolute path, as it is;
    2. with ``MEMSIM_TRACE_DIR`` set and a ``traces`` component in the path, the part
       after it under that folder: ``traces/m/t.jsonl`` and the shipped scenarios'
       ``../../shared/traces/m/t.jsonl`` both become ``$MEMSIM_TRACE_DIR/m/t.jsonl``;
    3. the path relative to ``base_dir``, the folder of the scenario file naming it.

    The first that exists wins; when none does, the first candidate is returned (so
    the not-found error names the folder the user pointed at).
    """
    cands = trace_candidates(path, base_dir)
    return next((c for c in cands if c.exists()), cands[0])


def _describe(path: Path, given: str | None) -> str:
    if given is None or str(given) == str(path):
        return str(path)
    return f"{path} (from {given!r})"


def trace_error(problem: str, path, line: int | None = None, *, unit: str = "line") -> TraceError:
    """A TraceError located at ``unit N`` (``line`` for text files, ``row`` for Parquet)."""
    field = None if line is None else f"{unit} {line}"
    return TraceError(problem, file=str(path), line=line, field=field)


def check_file(path: Path, given: str | None = None) -> None:
    """Fail early, naming the resolved path, if ``path`` is not a readable file."""
    if not path.exists():
        hint = ""
        if given is not None and "traces" in Path(str(given)).parts \
                and not os.environ.get(TRACE_DIR_ENV):
            hint = (f" (set {TRACE_DIR_ENV} to your traces folder: the part of the path "
                    "after 'traces/' is looked up there)")
        raise TraceError(f"trace file not found{hint}", file=_describe(path, given))
    if path.is_dir():
        raise TraceError("is a directory, expected a trace file", file=_describe(path, given))


def iter_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Yield ``(line_number, text_without_newline, ends_with_newline)`` for each line.

    A path ending in ``.gz`` is decompressed on the fly.
    """
    try:
        f = gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")
    except FileNotFoundError:
        raise TraceError("trace file not found", file=str(path)) from None
    except IsADirectoryError:
        raise TraceError("is a directory, expected a trace file", file=str(path)) from None
    except OSError as e:
        raise TraceError(f"cannot read: {e.strerror}", file=str(path)) from None
    n = 0
    with f:
        try:
            for raw in f:
                n += 1
                complete = raw.endswith(b"\n")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise trace_error(f"not UTF-8 text (byte {e.start + 1} of the line: "
                                      f"{raw[e.start:e.start + 1]!r})", path, n) from None
                yield n, text.rstrip("\r\n") if complete else text, complete
        except (EOFError, OSError, zlib.error) as e:   # a damaged .gz, a failing disk
            where = f" past line {n}" if n else ""
            raise trace_error(f"cannot read{where}: {e or type(e).__name__}", path) from None


_CLOCK = re.compile(r"\s*(\d{4}-\d\d-\d\d)[ T](\d\d):(\d\d):(\d\d(?:\.\d+)?)\s*\Z")


class WallClock:
    """Parses ``YYYY-MM-DD HH:MM:SS[.fffffff]`` into seconds after the first date seen.

    Fractional digits beyond microseconds are kept (the Azure trace has seven);
    times carry no zone and are taken as they are written.
    """

    __slots__ = ("_days", "_day0")

    def __init__(self):
        self._days: dict[str, int] = {}
        self._day0: int | None = None

    def seconds(self, text: str) -> float:
        """Seconds since midnight of the first date parsed; ValueError if malformed."""
        m = _CLOCK.match(text)
        if m is None:
            raise ValueError(f"{text!r} is not a time like '2023-11-16 18:15:46.6805900'")
        date, hh, mm, ss = m.groups()
        day = self._days.get(date)
        if day is None:
            try:
                day = _dt.date.fromisoformat(date).toordinal()
            except ValueError:
                raise ValueError(f"{text!r} has an invalid date") from None
            if self._day0 is None:
                self._day0 = day
            day -= self._day0
            self._days[date] = day
        h, mi, s = int(hh), int(mm), float(ss)
        if h > 23 or mi > 59 or s >= 61:
            raise ValueError(f"{text!r} has an invalid time of day")
        return day * 86400.0 + h * 3600.0 + mi * 60.0 + s
