"""Scale: stream N synthetic requests (default 10 million) through ``memsim run``; peak RSS.

Writes a scenario whose workload is a seeded synthetic generator (or, with
``--trace``, a Mooncake JSONL file written first) and runs ``memsim run --json``
in a child process; prints the child's peak resident set size, wall time and
bytes per request.  Target (issue 9): peak RSS < 2 GiB at 10M requests.

    python benchmarks/scale_10m.py --requests 1000000
    python benchmarks/scale_10m.py --requests 200000 --tracemalloc   # what holds memory
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TARGET_BYTES = 2 * 2**30


def scenario(n: int, trace: Path | None) -> dict:
    """Short prompts and answers at a rate one H100 sustains, so the queue stays bounded."""
    if trace is not None:
        workload = {"kind": "mooncake", "path": str(trace)}
    else:
        workload = {
            "kind": "synthetic", "num_requests": n,
            "arrivals": {"process": "poisson", "rate": "40 req/s"},
            "input_tokens": {"dist": "lognormal", "mean": 300, "sigma": 0.5, "max": 2000},
            "output_tokens": {"dist": "lognormal", "mean": 40, "sigma": 0.5, "max": 200},
            "shared_prefix": {"prompts": 16, "tokens": 512, "popularity": 1.0},
            "hash_block_tokens": 512,
        }
    return {"version": 1, "name": f"scale-{n}", "seed": 0, "platform": "h100_sxm",
            "model": "llama-3.1-8b", "workload": workload,
            "scheduler": {"max_batch_size": 256, "max_batch_tokens": 8192},
            "kv": {"block_tokens": 16}}


def write_trace(path: Path, n: int) -> Path:
    """A Mooncake-format JSONL of n requests from the same generator (streamed to disk)."""
    from memsim.workloads.spec import parse_workload_spec
    from memsim.workloads.synthetic import generate
    spec = parse_workload_spec(scenario(n, None)["workload"])
    with open(path, "w", encoding="utf-8") as f:
        for r in generate(spec, seed=0):
            f.write(json.dumps({"timestamp": int(r.arrival_s * 1000), "input_length": r.input_tokens,
                                "output_length": r.output_tokens, "hash_ids": list(r.hash_ids)}) + "\n")
    return path


TRACEMALLOC_CHILD = r"""
import sys, tracemalloc, json
tracemalloc.start(8)
from memsim.sim.config import load_scenario
from memsim.sim.engine import Engine
eng = Engine(load_scenario(sys.argv[1]))
res = eng.run()
snap = tracemalloc.take_snapshot()
cur, peak = tracemalloc.get_traced_memory()
print(f"tracemalloc current {cur/2**20:.1f} MiB, peak {peak/2**20:.1f} MiB")
for stat in snap.statistics("lineno")[:15]:
    print(f"{stat.size/2**20:9.1f} MiB {stat.count:>10,} blocks  {stat.traceback[0]}")
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--trace", action="store_true", help="write a Mooncake JSONL and read it back")
    ap.add_argument("--tracemalloc", action="store_true", help="print the top allocation sites")
    ap.add_argument("--workdir", default=None, help="where the scenario (and trace) go")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="memsim-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    trace = None
    if args.trace:
        t0 = time.perf_counter()
        trace = write_trace(work / "trace.jsonl", args.requests)
        print(f"trace: {trace} ({trace.stat().st_size / 2**20:.0f} MiB, "
              f"{time.perf_counter() - t0:.0f} s to write)")
    scen = work / "scenario.yaml"
    scen.write_text(yaml.safe_dump(scenario(args.requests, trace), sort_keys=False))
    if args.tracemalloc:
        cmd = [sys.executable, "-c", TRACEMALLOC_CHILD, str(scen)]
    else:
        cmd = [sys.executable, "-m", "memsim.cli", "run", str(scen), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    print(proc.stdout.strip() if args.tracemalloc else "")
    summary = {} if args.tracemalloc else json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"requests: {args.requests:,} ({'mooncake trace' if trace else 'synthetic generator'})")
    if summary:
        print(f"completed: {summary['completed']:,}  rejected: {summary.get('rejected', 0):,}  "
              f"sim_time_s: {summary['sim_time_s']:,.0f}")
    print(f"wall: {wall:,.0f} s  ({args.requests / wall:,.0f} req/s)")
    print(f"peak RSS: {peak / 2**20:,.0f} MiB  ({peak / args.requests:,.0f} B/request)  "
          f"target < {TARGET_BYTES / 2**30:.0f} GiB: {'met' if peak < TARGET_BYTES else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
