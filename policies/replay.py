"""Trace replay: drive an eviction policy (and an admission filter) over an access sequence.

No SimPy: for each access, hit or miss, admission, evictions until the object
fits, insert.  Built-in policies run on a Numba kernel (``engine="fast"``) that
makes exactly the decisions of the Python path (``engine="python"``), which is
also the path for user classes, ``ttl``, ``advice`` and admission filters.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from memsim.ground.errors import ConfigError, check_positive
from memsim.ground.ids import densify

from . import registry
from .fast import kernel_for
from .fast.next_access import next_access as _next_access
from .pool import BlockPool, Entry

__all__ = ["ReplayResult", "replay", "replay_python", "prepare_sequence"]


@dataclass
class ReplayResult:
    """Hits of one policy at one capacity; ``hit`` is the per-access hit vector (uint8)."""

    policy: str
    capacity: int
    accesses: int
    hits: int
    seconds: float
    engine: str
    hit: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.accesses if self.accesses else 0.0

    @property
    def accesses_per_s(self) -> float:
        return self.accesses / self.seconds if self.seconds > 0 else float("inf")

    def row(self) -> dict[str, Any]:
        return {"policy": self.policy, "capacity": self.capacity, "accesses": self.accesses,
                "hits": self.hits, "hit_ratio": self.hit_ratio, "seconds": self.seconds,
                "accesses_per_s": self.accesses_per_s, "engine": self.engine}


def prepare_sequence(ids, sizes=None):
    """Dense int64 ids, their count, and int64 sizes (1 each when ``sizes`` is None)."""
    dense, n_ids = densify(np.asarray(ids))
    dense = np.ascontiguousarray(dense, np.int64)
    if sizes is None:
        sizes = np.ones(len(dense), np.int64)
    else:
        sizes = np.ascontiguousarray(sizes, np.int64)
        if len(sizes) != len(dense):
            raise ConfigError(f"{len(sizes)} sizes for {len(dense)} accesses", field="sizes")
        if len(sizes) and sizes.min() <= 0:
            raise ConfigError("every size must be > 0", field="sizes")
    return dense, n_ids, sizes


def _label(spec) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return str(spec.get("name"))
    return getattr(spec, "name", type(spec).__name__)


def replay(ids, policy, capacity: int, *, sizes=None, times_s=None, admission=None,
           engine: str = "fast", next_access=None, keep_hits: bool = False,
           prepared=None) -> ReplayResult:
    """Replay ``ids`` through ``policy`` (a registry spec or instance) at ``capacity``.

    ``capacity`` and ``sizes`` share a unit (blocks or bytes).  ``engine="fast"``
    uses the Numba kernel when the policy is a built-in with one and no admission
    filter (other than ``always``) is given; otherwise the Python path runs.
    ``times_s`` feeds ``now_s`` (the access index when absent).  ``prepared`` is
    ``prepare_sequence(ids, sizes)`` computed once for a grid of runs (``ids`` is then
    ignored).
    """
    check_positive("capacity", capacity)
    if engine not in ("fast", "python"):
        raise ConfigError(f"engine={engine!r} must be 'fast' or 'python'", field="engine")
    dense, n_ids, sz = prepared or prepare_sequence(ids, sizes)
    if times_s is not None:
        times_s = np.asarray(times_s, np.float64)
        if len(times_s) != len(dense):
            raise ConfigError(f"{len(times_s)} times for {len(dense)} accesses", field="times_s")
    pol = registry.create("eviction", policy, capacity=int(capacity))
    adm = None if admission is None else registry.create("admission", admission,
                                                         capacity=int(capacity))
    if adm is not None and getattr(adm, "name", "") == "always":
        adm = None
    mod = kernel_for(pol) if engine == "fast" and adm is None else None
    n = len(dense)
    hit = np.zeros(n, np.uint8)
    if getattr(pol, "name", "") in ("belady", "advice") or hasattr(pol, "prepare"):
        if next_access is None:
            next_access = _next_access(dense, n_ids)
    if mod is not None:
        warm(mod, pol)
    t0 = time.perf_counter()
    if mod is not None:
        extra = {"times_s": times_s} if getattr(pol, "name", "") == "ttl" else {}
        hits = int(mod.run(pol, dense, sz, n_ids, hit, next_access, **extra))
        used = "fast"
    else:
        hits = replay_python(pol, dense, sz, capacity, hit, admission=adm, times_s=times_s,
                             next_access=next_access)
        used = "python"
    seconds = time.perf_counter() - t0
    return ReplayResult(policy=_label(policy), capacity=int(capacity), accesses=n, hits=hits,
                        seconds=seconds, engine=used, hit=hit if keep_hits else None)


_WARM: set = set()


def warm(mod, pol) -> float:
    """Load (or compile) ``mod``'s kernel on a 2-access input so timings exclude it;
    returns the seconds that took (0 after the first call per process)."""
    if mod.__name__ in _WARM:
        return 0.0
    t0 = time.perf_counter()
    ids = np.zeros(2, np.int64)
    mod.run(pol, ids, np.ones(2, np.int64), 1, np.zeros(2, np.uint8), np.array([1, 3], np.int64))
    _WARM.add(mod.__name__)
    return time.perf_counter() - t0


def replay_python(pol, keys, sizes, capacity: int, hit, *, admission=None, times_s=None,
                  next_access=None, check_every: int = 0, evicted: list | None = None) -> int:
    """The reference loop over the Eviction Protocol; returns the hit count.

    The storage and the eviction loop are the engine's (``BlockPool``).
    ``check_every=k`` calls ``pol.check()`` (and verifies the size total) every k
    accesses (tests use 1).  ``evicted`` (a list) gets ``(access index, key)`` per
    eviction, in order.
    """
    if hasattr(pol, "prepare"):
        pol.prepare(keys, sizes, next_access)
    seek = getattr(pol, "seek", None)
    pool = BlockPool(pol, capacity)
    entries, on_hit, insert = pool.entries, pol.on_hit, pool.insert
    admit = admission.admit if admission is not None else None
    out: list | None = [] if evicted is not None else None
    keys_l = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    sizes_l = sizes.tolist() if isinstance(sizes, np.ndarray) else list(sizes)
    times_l = times_s.tolist() if times_s is not None else None
    hits = 0
    for i, key in enumerate(keys_l):
        now_s = times_l[i] if times_l is not None else float(i)
        if seek is not None:
            seek(i)
        if key in entries:
            hits += 1
            hit[i] = 1
            on_hit(key, now_s)
        else:
            # nothing is pinned here, so a policy that offers no victim raises in the pool
            insert(key, Entry(0, sizes_l[i]), now_s, admit=admit, evicted=out)
            if out:
                evicted.extend((i, k) for k, _ in out)
                out.clear()
        if check_every and i % check_every == 0:
            pool.check()
            assert len(pol) == len(entries), (len(pol), len(entries))
    pool.record(hits, len(keys_l) - hits)
    return pool.hits
