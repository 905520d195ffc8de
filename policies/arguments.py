"""Argument checks of the replay API (``memsim.replay``, ``memsim.mrc``), as strict as the CLI.

A notebook user who passes ``memsim.replay(123, ...)`` or float ids gets the one-line
``ConfigError`` naming the argument that ``memsim replay`` prints for a bad trace, not a
``TypeError`` from inside NumPy.  Ids are opaque 64-bit keys: any integer in
-2**63..2**64-1 (a uint64 hash keeps its bits as int64); sizes are integers > 0;
capacities integers > 0; ``workers`` an integer >= 1.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from memsim.ground.errors import ConfigError

from . import replay as _replay

__all__ = ["check_ids", "check_sizes", "check_times", "check_capacity", "check_capacities",
           "check_workers", "replay", "MAX_CAPACITIES"]

#: capacities one curve may have (each is a replay, or a point of the one-pass LRU curve)
MAX_CAPACITIES = 10_000

_LO, _HI = -(1 << 63), 1 << 64


def _what(v: Any) -> str:
    return f"{type(v).__name__} {v!r:.60}"


def _sequence(v: Any, field: str, noun: str) -> np.ndarray:
    if v is None or isinstance(v, (str, bytes, dict, set, frozenset, int, float, complex)) \
            or not hasattr(v, "__len__"):
        raise ConfigError(f"expected a sequence of {noun} (a list or a 1-D NumPy array), got "
                          f"{_what(v)}", field=field)
    try:
        arr = np.asarray(v)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"expected a sequence of {noun}: {e}", field=field) from None
    if arr.ndim != 1:
        raise ConfigError(f"expected a 1-D sequence of {noun}, got an array of shape {arr.shape}",
                          field=field)
    return arr


def check_ids(ids: Any, field: str = "ids") -> np.ndarray:
    """``ids`` as a 1-D int64 array, or a ConfigError naming ``field``."""
    if isinstance(ids, (list, tuple)) and any(type(v) is int and not -(1 << 63) <= v < (1 << 63)
                                              for v in ids):
        ids = np.array(ids, dtype=object)    # NumPy would turn int64 mixed with uint64 into floats
    arr = _sequence(ids, field, "integer ids")
    if len(arr) == 0:
        raise ConfigError("no accesses (a hit ratio over nothing is meaningless)", field=field)
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        return arr.astype(np.uint64, copy=False).view(np.int64)
    if kind == "O":
        for i, v in enumerate(arr):
            if type(v) is not int and not isinstance(v, np.integer):
                raise ConfigError(f"ids[{i}] is {_what(v)}; ids are integers", field=field)
            if not _LO <= int(v) < _HI:
                raise ConfigError(f"ids[{i}] = {int(v)} does not fit in 64 bits", field=field)
        return np.array([int(v) % _HI for v in arr], dtype=np.uint64).view(np.int64)
    first = arr[0]
    raise ConfigError(f"ids are integers, got {arr.dtype} values (ids[0] = {first!r})", field=field)


def check_sizes(sizes: Any, n: int) -> np.ndarray | None:
    """Object sizes: None, or ``n`` integers > 0."""
    if sizes is None:
        return None
    arr = _sequence(sizes, "sizes", "integer sizes")
    if arr.dtype.kind not in "iu":
        raise ConfigError(f"sizes are integers > 0, got {arr.dtype} values", field="sizes")
    if len(arr) != n:
        raise ConfigError(f"{len(arr)} sizes for {n} accesses", field="sizes")
    if len(arr) and arr.min() <= 0:
        raise ConfigError(f"sizes[{int(np.argmin(arr))}] = {int(arr.min())}; every size must be > 0",
                          field="sizes")
    return arr.astype(np.int64)


def check_times(times_s: Any, n: int) -> np.ndarray | None:
    """Access times: None, or ``n`` finite numbers of seconds."""
    if times_s is None:
        return None
    arr = _sequence(times_s, "times_s", "times in seconds")
    if arr.dtype.kind not in "iuf":
        raise ConfigError(f"times_s are numbers of seconds, got {arr.dtype} values", field="times_s")
    arr = arr.astype(np.float64)
    if len(arr) != n:
        raise ConfigError(f"{len(arr)} times for {n} accesses", field="times_s")
    if not np.all(np.isfinite(arr)):
        raise ConfigError("every time must be finite", field="times_s")
    return arr


def check_capacity(capacity: Any, field: str = "capacity") -> int:
    """An integer capacity > 0 (blocks or bytes)."""
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)):
        if isinstance(capacity, (float, np.floating)) and math.isfinite(capacity) \
                and capacity == int(capacity) and capacity > 0:
            return int(capacity)   # 1e6 written as a float is still a whole capacity
        raise ConfigError(f"expected an integer > 0, got {_what(capacity)}", field=field)
    if capacity <= 0:
        raise ConfigError(f"{int(capacity)} must be > 0", field=field)
    return int(capacity)


def check_capacities(capacities: Any) -> list[int]:
    """Distinct integer capacities > 0, at most ``MAX_CAPACITIES``."""
    if isinstance(capacities, (int, float)) and not isinstance(capacities, bool):
        capacities = [capacities]
    arr = _sequence(capacities, "capacities", "capacities")
    if len(arr) == 0:
        raise ConfigError("give at least one capacity", field="capacities")
    if len(arr) > MAX_CAPACITIES:
        raise ConfigError(f"{len(arr):,} capacities; a curve may have at most {MAX_CAPACITIES:,}",
                          field="capacities")
    caps = [check_capacity(c, f"capacities[{i}]") for i, c in enumerate(arr.tolist())]
    seen: dict[int, int] = {}
    for i, c in enumerate(caps):
        if c in seen:
            raise ConfigError(f"capacity {c} is given twice (capacities[{seen[c]}] and [{i}])",
                              field="capacities")
        seen[c] = i
    return caps


def check_workers(workers: Any) -> int | None:
    """None (one per core) or an integer >= 1."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"expected an integer >= 1, got {_what(workers)}", field="workers")
    return int(workers)


@functools.wraps(_replay.replay)
def replay(ids, policy, capacity, *, sizes=None, times_s=None, prepared=None, **kw):
    if prepared is None:
        ids = check_ids(ids)
        sizes = check_sizes(sizes, len(ids))
        times_s = check_times(times_s, len(ids))
    capacity = check_capacity(capacity)
    return _replay.replay(ids, policy, capacity, sizes=sizes, times_s=times_s, prepared=prepared, **kw)
