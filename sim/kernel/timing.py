"""Predict an attention kernel's time by replaying its tile steps with double buffering.

Each unit of work (one CTA on one SM) is a sequence of steps: loads, a compute,
stores.  With double buffering the next step's loads overlap this step's compute;
one HBM channel per CTA serves loads and stores in issue order.  Units of a phase
are spread over the SMs (greedy, in order) and the phases run one after another.
"""
from __future__ import annotations

import heapq
import math
from collections import deque

from memsim.ground.errors import ConfigError, check_positive
from memsim.ground.units import parse_bandwidth, parse_flops
from memsim.hwmodels import load_platform

from .attention import prepare, walk
from .result import AttentionIO

__all__ = ["predict_time", "unit_time", "Machine", "machine_from_platform"]


class Machine:
    """The numbers the timing model needs, for one accelerator.

    ``hbm_bw`` (bytes/s) and ``sram_bw`` (bytes/s) are chip totals shared by the
    SMs that run at once; ``flops`` (FLOP/s) is the chip's achievable rate,
    ``flops / sm_count`` per SM.  ``sram_bw=inf`` leaves SRAM out of the model.
    """

    def __init__(self, *, hbm_bw: float, flops: float, sram_bw: float = math.inf,
                 sm_count: int = 1):
        self.hbm_bw = _rate("hbm_bw", hbm_bw, parse_bandwidth)
        self.flops = _rate("flops", flops, parse_flops)
        self.sram_bw = math.inf if sram_bw is None else _rate("sram_bw", sram_bw, parse_bandwidth)
        if isinstance(sm_count, bool) or not isinstance(sm_count, int) or sm_count < 1:
            raise ConfigError(f"sm_count={sm_count!r} must be a positive integer", field="sm_count")
        self.sm_count = sm_count

    def __repr__(self) -> str:
        return (f"Machine(hbm_bw={self.hbm_bw!r}, flops={self.flops!r}, sram_bw={self.sram_bw!r}, "
                f"sm_count={self.sm_count!r})")


def _rate(name, v, parse):
    if isinstance(v, str):
        v = parse(v, field=name)
    if v == math.inf:
        return v
    check_positive(name, v)
    return float(v)


def machine_from_platform(platform, *, dtype: str = "bf16") -> Machine:
    """A ``Machine`` from a ``hwmodels`` platform (or its name), per accelerator.

    HBM bandwidth is the hbm tier's ``read_bw`` times ``efficiency.memory``; compute
    is ``peak_flops[dtype]`` times ``efficiency.attention``; SRAM bandwidth is the
    sram tier's ``read_bw`` when the platform lists one.
    """
    if isinstance(platform, str):
        platform = load_platform(platform)
    c = platform.compute
    hbm = platform.tier_of_kind("hbm")
    if hbm is None:
        raise ConfigError(f"platform {platform.name!r} has no hbm tier", field="tiers")
    sram = platform.tier_of_kind("sram")
    return Machine(hbm_bw=hbm.read_bw * c.efficiency.memory,
                   flops=c.peak(dtype) * c.efficiency.attention,
                   sram_bw=sram.read_bw if sram is not None else math.inf,
                   sm_count=c.sm_count)


def unit_time(load_bytes, flop, store_bytes, *, hbm_bw: float, flops: float,
              sram_bw: float = math.inf, double_buffer: bool = True) -> float:
    """Seconds for one unit's steps on one SM with the given per-SM rates.

    ``load_bytes[k]``, ``flop[k]``, ``store_bytes[k]`` describe step k.  A step's
    compute takes ``max(flop / flops, sram bytes / sram_bw)`` where the SRAM bytes
    are its loads and stores, each written once and read once in SRAM.  Loads of
    step k may start when the channel is free and, with double buffering, when
    step k-2's compute has released its buffer (without: after step k-1's compute).
    Stores are issued when their step's compute ends; the channel serves
    transfers in issue order.
    """
    chan = 0.0                       # when the HBM channel is next free
    pending: deque = deque()         # stores waiting for the channel: (issue_s, duration_s)
    ce_prev = ce_prev2 = 0.0         # compute end of steps k-1 and k-2
    le_prev = 0.0
    for lb, fl, sb in zip(load_bytes, flop, store_bytes):
        issue = max(ce_prev2, le_prev) if double_buffer else ce_prev
        while pending and pending[0][0] <= issue:
            t0, dur = pending.popleft()
            chan = max(chan, t0) + dur
        start = max(chan, issue)
        le = start + lb / hbm_bw
        chan = le
        cs = max(le, ce_prev)
        t_comp = fl / flops
        if sram_bw != math.inf:
            t_comp = max(t_comp, 2 * (lb + sb) / sram_bw)
        ce = cs + t_comp
        if sb:
            pending.append((ce, sb / hbm_bw))
        ce_prev2, ce_prev, le_prev = ce_prev, ce, le
    while pending:
        t0, dur = pending.popleft()
        chan = max(chan, t0) + dur
    return max(chan, ce_prev)


def _makespan(durations: list[float], copies: int, workers: int) -> float:
    """Greedy list scheduling of ``copies`` x ``durations`` (in order) on ``workers``."""
    total = len(durations) * copies
    if total == 0:
        return 0.0
    if workers >= total:
        return max(durations)
    if len(set(durations)) == 1:                     # NOTE: closed form for speed
        return math.ceil(total / workers) * durations[0]
    free = [0.0] * workers
    for _ in range(copies):
        for dur in durations:
            t = heapq.heappop(free)
            heapq.heappush(free, t + dur)
    return max(free)


def predict_time(r_or_args, *, platform=None, sram_bw=None, hbm_bw=None, flops=None,
                 sm_count: int | None = None, dtype: str = "bf16",
                 double_buffer: bool = True) -> float:
    """Seconds for an attention forward pass, from an event-level replay of its tiles.

    ``r_or_args`` is an ``AttentionIO`` or a dict of ``attention_io`` keyword
    arguments plus ``algo`` (``sram_elems`` defaults to the platform's
    ``sram_per_sm`` divided by ``dtype_bytes``).  Give either ``platform`` (a
    ``hwmodels`` Platform or its name) or ``hbm_bw`` and ``flops`` (chip totals,
    bytes/s and FLOP/s, numbers or strings with units) with optional ``sram_bw``
    and ``sm_count`` (default 1).

    Each of the ``units x batch x heads`` units (one CTA, one SM, M elements of
    SRAM) gets ``hbm_bw / P`` of the bandwidth, with ``P = min(units, sm_count)``
    running at once, and ``flops / sm_count`` of the compute.
    """
    if platform is not None:
        if hbm_bw is not None or flops is not None:
            raise ConfigError("give either platform or hbm_bw/flops, not both", field="platform")
        if isinstance(platform, str):
            platform = load_platform(platform)
        mach = machine_from_platform(platform, dtype=dtype)
        if sm_count is not None:
            mach.sm_count = sm_count
    else:
        if hbm_bw is None or flops is None:
            raise ConfigError("predict_time needs platform= or both hbm_bw= and flops=",
                              field="platform")
        mach = Machine(hbm_bw=hbm_bw, flops=flops, sram_bw=math.inf if sram_bw is None else sram_bw,
                       sm_count=1 if sm_count is None else sm_count)

    if isinstance(r_or_args, AttentionIO):
        r = r_or_args
        args = dict(algo=r.algo, n=r.n, d=r.d, sram_elems=r.sram_elems, heads=r.heads,
                    batch=r.batch, dtype_bytes=r.dtype_bytes, block_rows=r.block_rows,
                    block_cols=r.block_cols)
    elif isinstance(r_or_args, dict):
        args = dict(r_or_args)
        if "sram_elems" not in args:
            if platform is None:
                raise ConfigError("sram_elems is needed without a platform", field="sram_elems")
            args["sram_elems"] = platform.compute.sram_per_sm // args.get("dtype_bytes", 2)
    else:
        raise ConfigError(f"predict_time takes an AttentionIO or a dict, not "
                          f"{type(r_or_args).__name__}")
    algo = args.pop("algo")
    alg, br, bc = prepare(algo, **args)
    n, d, dtype_bytes = args["n"], args["d"], args.get("dtype_bytes", 2)
    copies = args.get("heads", 1) * args.get("batch", 1)
    mem = walk(alg, n=n, d=d, sram_elems=args["sram_elems"], br=br, bc=bc, record=True)
    return _replay(mem.steps, mach, copies=copies, dtype_bytes=dtype_bytes,
                   double_buffer=double_buffer)


def _replay(steps, mach: Machine, *, copies: int, dtype_bytes: int, double_buffer: bool) -> float:
    # Group steps by (phase, unit) in walk order.
    phases: dict[int, dict[int, list[int]]] = {}
    for k, (p, u) in enumerate(zip(steps.phase, steps.unit)):
        phases.setdefault(p, {}).setdefault(u, []).append(k)
    total = 0.0
    for p in sorted(phases):
        units = phases[p]
        active = min(len(units) * copies, mach.sm_count)
        hbm = mach.hbm_bw / active
        sram = mach.sram_bw / mach.sm_count
        fl = mach.flops / mach.sm_count
        durations = []
        for u in sorted(units):
            ks = units[u]
            durations.append(unit_time(
                [steps.load_elems[k] * dtype_bytes + steps.index_bytes[k] for k in ks],
                [steps.flop[k] for k in ks],
                [steps.store_elems[k] * dtype_bytes for k in ks],
                hbm_bw=hbm, flops=fl, sram_bw=sram, double_buffer=double_buffer))
        total += _makespan(durations, copies, mach.sm_count)
    return total
