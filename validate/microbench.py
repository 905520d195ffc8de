"""Microbenchmarks of this machine: cache sizes, per-level bandwidth and latency, loop rates.

Bandwidth from the streaming kernel, latency from pointer chasing, compute rates
from the kernels' own inner loops on cache-resident inputs; every timing is the
median thread CPU time of ``repeats`` runs after a warm-up (compilation never timed).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ._memory import huge_empty, huge_zeros
from .kernels.attention_tiled import attention_tiled
from .kernels.decode_attention import decode_attention
from .kernels.matmul_tiled import matmul_tiled
from .kernels.pointer_chase import chase, make_cycle
from .kernels.stream import stream_sum
from .kernels.stream_dot import stream_dot

__all__ = ["time_call", "read_caches", "stream_bandwidth", "chase_latency", "loop_rates",
           "stream_dot_time", "CacheInfo"]

CACHE_DIR = Path("/sys/devices/system/cpu/cpu0/cache")


class CacheInfo(tuple):
    """``(level, size_bytes, line_bytes, shared_cpus)`` of one data/unified cache."""

    __slots__ = ()

    def __new__(cls, level: int, size_bytes: int, line_bytes: int, shared_cpus: int):
        return super().__new__(cls, (level, size_bytes, line_bytes, shared_cpus))

    level = property(lambda s: s[0])
    size_bytes = property(lambda s: s[1])
    line_bytes = property(lambda s: s[2])
    shared_cpus = property(lambda s: s[3])


def time_stats(fn, *, repeats: int, warmup: bool = True) -> tuple[float, float, float]:
    """(minimum, median, maximum) thread CPU time of ``fn()`` over ``repeats`` runs after one
    untimed warm-up.  On a shared machine other processes only ever add time (descheduling
    is not counted, but their cache and memory traffic slows this thread), so the minimum
    is the robust estimate of the kernel's own time and max/min its spread."""
    if warmup:
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return float(np.min(times)), float(np.median(times)), float(np.max(times))


def time_call(fn, *, repeats: int, warmup: bool = True) -> float:
    """Median CPU time of this thread running ``fn()`` over ``repeats`` runs, after one
    untimed warm-up run.

    The kernels are single-threaded, so thread CPU time equals their run time on
    an idle machine, and on a shared one it leaves out the time the thread was
    descheduled (2-core machines shared with other work are the common case).
    """
    if warmup:
        fn()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return float(np.median(times))


def _cpu_count(text: str) -> int:
    n = 0
    for part in text.strip().split(","):
        if "-" in part:
            a, b = part.split("-")
            n += int(b) - int(a) + 1
        elif part:
            n += 1
    return max(n, 1)


def _size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
    return int(text[:-1]) * mult[text[-1]] if text[-1] in mult else int(text)


def read_caches(root: Path = CACHE_DIR) -> list[CacheInfo]:
    """Data and unified caches of cpu0 from sysfs, nearest first; [] when not readable."""
    out = []
    for d in sorted(root.glob("index*")):
        try:
            kind = (d / "type").read_text().strip()
            if kind not in ("Data", "Unified"):
                continue
            out.append(CacheInfo(int((d / "level").read_text()), _size((d / "size").read_text()),
                                 int((d / "coherency_line_size").read_text()),
                                 _cpu_count((d / "shared_cpu_list").read_text())))
        except (OSError, ValueError):
            continue
    return sorted(out)


def stream_bandwidth(size_bytes: int, *, repeats: int = 3, target_s: float = 0.01) -> float:
    """Read bandwidth (bytes/s) of the streaming kernel over a ``size_bytes`` working set."""
    a = huge_empty(max(size_bytes // 4, 1), np.float32)
    a[:] = 1.0
    stream_sum(a, 1)
    t1 = time_call(lambda: stream_sum(a, 1), repeats=1)
    passes = max(1, int(target_s / max(t1, 1e-9)))
    t = time_call(lambda: stream_sum(a, passes), repeats=repeats)
    return a.nbytes * passes / t


def chase_latency(size_bytes: int, rng: np.random.Generator, *, repeats: int = 3,
                  target_s: float = 0.01) -> float:
    """Seconds per dependent load when chasing a random cycle over ``size_bytes``.

    One full lap warms the level up; timed hops then continue around the cycle
    (never restarting at the same slot, which would re-use lines cached by the
    previous run).
    """
    n = max(size_bytes // 8, 16)
    nxt = make_cycle(n, rng, out=huge_zeros(n, np.int64))
    lap = nxt.size // 8
    pos = [int(chase(nxt, 0, lap))]
    probe = min(lap, 20_000)
    t1 = time_call(lambda: pos.__setitem__(0, int(chase(nxt, pos[0], probe))), repeats=1,
                   warmup=False)
    hops = max(probe, int(target_s / max(t1 / probe, 1e-12)))
    t = time_call(lambda: pos.__setitem__(0, int(chase(nxt, pos[0], hops))), repeats=repeats,
                  warmup=False)
    return t / hops


def stream_dot_time(size_bytes: int, *, work: int = 1, repeats: int = 3, d: int = 128,
                    target_s: float = 0.01) -> tuple[float, int]:
    """(seconds per pass, bytes per pass) of the streaming dot over ``size_bytes``
    with each row's dot taken ``work`` times."""
    rows = max(size_bytes // (4 * d), 1)
    a = huge_empty((rows, d), np.float32)
    a[...] = 1.0
    q = np.ones(d, np.float32)
    out = np.empty(rows, np.float32)
    stream_dot(a, q, 1, work, out)
    t1 = time_call(lambda: stream_dot(a, q, 1, work, out), repeats=1)
    passes = max(1, int(target_s / max(t1, 1e-9)))
    t = time_call(lambda: stream_dot(a, q, passes, work, out), repeats=repeats)
    return t / passes, a.nbytes


def _fit_two(f1, e1, t1, f2, e2, t2):
    """Solve t = f / rate + e * per_e for (rate, per_e); per_e clamped at 0."""
    det = f1 * e2 - f2 * e1
    if det != 0:
        inv_rate = (t1 * e2 - t2 * e1) / det
        per_e = (f1 * t2 - f2 * t1) / det
        if inv_rate > 0 and per_e >= 0:
            return 1.0 / inv_rate, per_e
    return f2 / t2, 0.0


def loop_rates(rng: np.random.Generator, *, repeats: int = 5) -> dict:
    """FLOP/s of each kernel family's inner loop (and seconds per exp) on L1-resident inputs.

    gemm: the tiled matmul on 32x32 matrices.  attention / decode: the tiled and
    decode kernels at two head dims (attention: 128 rows in 32x32 tiles; decode:
    256 tokens), fitted to ``t = flop / rate + exps * exp_s`` so the FLOP rate and
    the exp cost separate.
    """
    reps = 200
    n = 32
    a = rng.standard_normal((n, n)).astype(np.float32)
    c = np.zeros_like(a)
    # two tilings of one L1-resident product separate the FMA rate from the cost of starting
    # an inner loop (n^3 / tile of them): the tile-size effect the validation measures
    pts = []
    for tile in (n, 8):
        t = time_call(lambda: [matmul_tiled(a, a, tile, out=c) for _ in range(reps)], repeats=repeats)
        pts.append((2 * n ** 3 * reps, n ** 3 / tile * reps, t))
    gemm, gemm_loop = _fit_two(*pts[0], *pts[1])
    pts = []
    na, tile, reps_a = 128, 32, max(reps // 16, 1)
    for d in (32, 128):
        q, k, v = (rng.standard_normal((na, d)).astype(np.float32) for _ in range(3))
        o = np.empty_like(q)
        t = time_call(lambda: [attention_tiled(q, k, v, tile, tile, out=o) for _ in range(reps_a)],
                      repeats=repeats)
        pts.append((4 * na * na * d * reps_a, na * na * reps_a, t))
    att_rate, att_exp = _fit_two(*pts[0], *pts[1])
    pts = []
    tokens = 256
    for d in (32, 128):
        q = rng.standard_normal((1, d)).astype(np.float32)
        k, v = (rng.standard_normal((1, tokens, d)).astype(np.float32) for _ in range(2))
        s, o = np.empty(tokens, np.float32), np.empty_like(q)
        t = time_call(lambda: [decode_attention(q, k, v, scores=s, out=o) for _ in range(reps)],
                      repeats=repeats)
        pts.append((4 * tokens * d * reps, tokens * reps, t))
    dec_rate, dec_exp = _fit_two(*pts[0], *pts[1])
    return {"gemm_flop_per_s": gemm, "gemm_loop_s": gemm_loop, "attention_flop_per_s": att_rate,
            "attention_exp_s": att_exp, "decode_flop_per_s": dec_rate, "decode_exp_s": dec_exp}
