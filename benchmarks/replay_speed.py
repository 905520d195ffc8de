"""Replay throughput of memsim's Numba kernels vs libCacheSim's ``process_trace``.

Two sequences: a 10M-access Zipf(0.99) trace over 1M ids at capacity 100k, and
the shared Mooncake block sequence (every request's hash_ids, file order) at 10k.
Numba load/compile time is measured separately (first call per process; with
``cache=True`` it is a load from ``__pycache__`` after the first run ever).
Writes its section of benchmarks/RESULTS.md (replacing an older one).

    python benchmarks/replay_speed.py                # full run, writes RESULTS.md
    python benchmarks/replay_speed.py --accesses 1000000 --no-write
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memsim.policies import registry  # noqa: E402
from memsim.policies.fast import KERNELS, kernel_for  # noqa: E402
from memsim.policies.fast.next_access import next_access  # noqa: E402
from memsim.policies.replay import prepare_sequence, replay, warm  # noqa: E402
from memsim.workloads.accesses import write_oracle  # noqa: E402

POLICIES = ["lru", "fifo", "clock", "lfu", "arc", "2q", "slru", "s3fifo", "sieve", "belady",
            "ttl", "advice"]
LCS = {"lru": "LRU", "fifo": "FIFO", "clock": "Clock", "lfu": "LFU", "arc": "ARC", "2q": "TwoQ",
       "slru": "SLRU", "s3fifo": "S3FIFO", "sieve": "Sieve", "belady": "Belady"}
MOONCAKE = ROOT / ".." / "shared" / "traces" / "mooncake_conversation" / "conversation_trace.jsonl"
HEADER = "## Trace replay (policies.replay, benchmarks/replay_speed.py)"


def zipf_trace(n: int, universe: int, alpha: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, universe + 1) ** alpha)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(n), side="right")
    perm = rng.permutation(universe)          # popularity not aligned with id order
    return perm[np.minimum(ranks, universe - 1)].astype(np.int64)


def bench(name, ids, capacity, policies, use_lcs, tmpdir, repeat=3):
    prepared = prepare_sequence(ids)
    dense, n_ids, sizes = prepared
    n = len(ids)
    oracle = None
    if use_lcs:
        oracle = os.path.join(tmpdir, f"{name}.oracleGeneral")
        write_oracle(oracle, ids)
    t0 = time.perf_counter()
    na = next_access(dense, n_ids)
    t_na = time.perf_counter() - t0
    rows = []
    for pol in policies:
        inst = registry.create("eviction", pol, capacity=capacity)
        load_s = warm(kernel_for(inst), inst)
        best_cpu = best_wall = float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            r = replay(None, pol, capacity, prepared=prepared, next_access=na)
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, r.seconds)
        row = {"trace": name, "policy": pol, "capacity": capacity, "accesses": n,
               "hit_ratio": r.hit_ratio, "memsim_s": best_wall, "memsim_cpu_s": best_cpu,
               "memsim_per_s": n / best_cpu, "memsim_wall_per_s": n / best_wall,
               "numba_load_s": load_s}
        if pol == "belady":
            row["memsim_s_with_next_access"] = r.seconds + t_na
        if use_lcs and pol in LCS:
            import libcachesim as lcs
            reader = lcs.TraceReader(oracle, lcs.TraceType.ORACLE_GENERAL_TRACE)
            cache = getattr(lcs, LCS[pol])(capacity, hashpower=22)
            t0, c0 = time.perf_counter(), time.process_time()
            mr, _ = cache.process_trace(reader)
            t, tc = time.perf_counter() - t0, time.process_time() - c0
            row.update(lcs_hit_ratio=1 - mr, lcs_s=t, lcs_cpu_s=tc, lcs_per_s=n / tc,
                       lcs_wall_per_s=n / t)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


COLD = """
import json, sys, time
import numpy as np
from memsim.policies import registry
from memsim.policies.fast import kernel_for
from memsim.policies.replay import warm
out = {}
for name in sys.argv[1:]:
    pol = registry.create("eviction", name, capacity=1)
    out[name] = warm(kernel_for(pol), pol)
print(json.dumps(out))
"""


def cold_compile_s(policies) -> dict:
    """Seconds to compile each kernel from scratch (fresh process, empty NUMBA_CACHE_DIR)."""
    import subprocess
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        res = subprocess.run([sys.executable, "-c", COLD, *policies], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def section(rows, args, total_s, cold=None) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba
    out = [HEADER, "",
           f"Run {now} on {cpu}, {os.cpu_count()} cores visible (the shared 2-core dev box: "
           "other engineers were running tests at the same time, so absolute numbers are "
           "noisy), Python {0}, numba {1}. Throughput is by CPU time of the process "
           "(`time.process_time`), which the other jobs disturb less than wall time; memsim: "
           "best of 3 runs, libCacheSim: one run (10M accesses take it seconds). "
           "The last columns give wall-clock throughput.".format(
               platform.python_version(), numba.__version__),
           "",
           f"Command: `python benchmarks/replay_speed.py{' ' + ' '.join(args) if args else ''}` "
           f"({total_s:.0f} s in all). memsim = the Numba kernel on in-memory int64 ids "
           "(ids densified beforehand); libCacheSim = `process_trace` on an oracleGeneral file "
           "of the same sequence (its time includes its reader). Hit ratios are printed to "
           "show both ran the same decisions (SLRU differs by design: libCacheSim's has 4 "
           "segments). ttl and advice have no libCacheSim counterpart; advice's time includes "
           "its Belady pass for the prediction bits.", "",
           "| trace | policy | capacity | hit ratio memsim | hit ratio libCacheSim | memsim M acc/s | "
           "libCacheSim M acc/s | speed-up | numba load s (cached) | memsim wall M acc/s | "
           "libCacheSim wall M acc/s |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lh = f"{r['lcs_hit_ratio']:.4f}" if "lcs_hit_ratio" in r else "-"
        lp = f"{r['lcs_per_s'] / 1e6:.2f}" if "lcs_per_s" in r else "-"
        su = f"{r['memsim_per_s'] / r['lcs_per_s']:.1f}x" if "lcs_per_s" in r else "-"
        out.append(f"| {r['trace']} | {r['policy']} | {r['capacity']:,} | {r['hit_ratio']:.4f} | "
                   f"{lh} | {r['memsim_per_s'] / 1e6:.2f} | {lp} | {su} | "
                   f"{r['numba_load_s']:.2f} | {r['memsim_wall_per_s'] / 1e6:.2f} | "
                   + (f"{r['lcs_wall_per_s'] / 1e6:.2f} |" if "lcs_wall_per_s" in r else "- |"))
    if cold:
        out += ["", "Numba compile time from an empty cache (fresh process, `NUMBA_CACHE_DIR` "
                "set to a new directory; the first kernel also compiles the shared helpers; "
                "later runs load from `__pycache__` in the times of the last column):", "",
                "| " + " | ".join(cold) + " |", "|" + " ---: |" * len(cold),
                "| " + " | ".join(f"{v:.2f} s" for v in cold.values()) + " |"]
    bel = [r for r in rows if "memsim_s_with_next_access" in r]
    for r in bel:
        out.append("")
        out.append(f"Belady on {r['trace']}: the next-access pass adds "
                   f"{r['memsim_s_with_next_access'] - r['memsim_s']:.3f} s "
                   f"(libCacheSim reads next-access times from the oracleGeneral file).")
    return "\n".join(out) + "\n"


def write_results(text: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    if HEADER in old:
        start = old.index(HEADER)
        nxt = old.find("\n## ", start + len(HEADER))
        old = old[:start] + (old[nxt + 1:] if nxt >= 0 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accesses", type=int, default=10_000_000)
    ap.add_argument("--ids", type=int, default=1_000_000)
    ap.add_argument("--alpha", type=float, default=0.99)
    ap.add_argument("--capacity", type=int, default=100_000)
    ap.add_argument("--mooncake-capacity", type=int, default=10_000)
    ap.add_argument("--policy", action="append", choices=sorted(KERNELS))
    ap.add_argument("--no-libcachesim", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="memsim runs per cell (best kept)")
    ap.add_argument("--no-write", action="store_true")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    policies = args.policy or POLICIES
    use_lcs = not args.no_libcachesim
    if use_lcs:
        try:
            import libcachesim  # noqa: F401
        except ImportError:
            print("libcachesim not installed (pip install 'memsim[crosscheck]'); memsim only")
            use_lcs = False
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ids = zipf_trace(args.accesses, args.ids, args.alpha, seed=1)
        rows += bench(f"zipf{args.alpha}", ids, args.capacity, policies, use_lcs, tmp,
                      args.repeat)
        del ids
        if MOONCAKE.exists():
            from memsim.workloads.accesses import read_accesses
            mc = read_accesses(MOONCAKE, format="mooncake").ids
            rows += bench("mooncake", mc, args.mooncake_capacity, policies, use_lcs, tmp,
                          args.repeat)
        else:
            print(f"shared Mooncake trace not found at {MOONCAKE}; skipped")
    cold = cold_compile_s(policies)
    print(json.dumps({"cold_compile_s": cold}))
    text = section(rows, argv, time.perf_counter() - t0, cold)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
