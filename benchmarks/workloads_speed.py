"""Workload streaming speed and memory: synthetic generators and trace readers.

Run by hand (not a test): ``python benchmarks/workloads_speed.py [N]`` (default
N = 10,000,000).  Each case runs in its own process so its peak RSS is its own;
trace files of N rows are written to a temporary folder first.  Prints a
Markdown table for benchmarks/RESULTS.md.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

BASE = {"kind": "synthetic",
        "arrivals": {"process": "poisson", "rate": "50 req/s"},
        "input_tokens": {"dist": "lognormal", "mean": 1500, "sigma": 0.8, "max": 16000},
        "output_tokens": {"dist": "lognormal", "mean": 250, "sigma": 0.7, "max": 2000},
        "shared_prefix": {"prompts": 8, "tokens": 1024, "popularity": 1.0}}
SESSIONS = {"turns": {"dist": "uniform", "low": 1, "high": 8},
            "think_time": {"dist": "lognormal", "mean": "30 s"},
            "tool_call_fraction": 0.3, "tool_gap": {"dist": "exponential", "mean": "2 s"},
            "max_input_tokens": 32000}

CHILD = r"""
import json, resource, sys, time
from memsim.workloads import open_workload
spec = json.loads(sys.argv[1])
t = time.perf_counter(); n = 0
for r in open_workload(spec, seed=0):
    n += 1
dt = time.perf_counter() - t
print(json.dumps({"n": n, "s": dt, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_traces(folder: str, n: int) -> dict[str, str]:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from memsim.workloads import open_workload
    paths = {k: os.path.join(folder, f"trace.{k}") for k in ("jsonl", "csv", "azure.csv")}
    with open(paths["jsonl"], "w") as m, open(paths["csv"], "w") as c, open(paths["azure.csv"], "w") as a:
        c.write("timestamp,input_tokens,output_tokens,h\n")
        a.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for r in open_workload({**BASE, "num_requests": n}, seed=1):
            ids = list(r.hash_ids)
            m.write(json.dumps({"timestamp": int(r.arrival_s * 1000), "input_length": r.input_tokens,
                                "output_length": r.output_tokens, "hash_ids": ids}) + "\n")
            c.write(f"{r.arrival_s:.6f},{r.input_tokens},{r.output_tokens},{' '.join(map(str, ids))}\n")
            sec = r.arrival_s
            day, sec = divmod(sec, 86400)
            h, sec = divmod(sec, 3600)
            mi, sec = divmod(sec, 60)
            a.write(f"2023-11-{16 + int(day):02d} {int(h):02d}:{int(mi):02d}:{sec:010.7f},"
                    f"{r.input_tokens},{r.output_tokens}\n")
    return paths


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        paths = write_traces(folder, n)
        print(f"wrote {n:,}-row traces in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        cases = {
            "synthetic, shared prompts": {**BASE, "num_requests": n},
            "synthetic, shared prompts + sessions": {**BASE, "num_requests": n, "sessions": SESSIONS},
            "mooncake JSONL": {"kind": "mooncake", "path": paths["jsonl"]},
            "azure CSV": {"kind": "azure", "path": paths["azure.csv"]},
            "generic CSV with hash ids": {"kind": "csv", "path": paths["csv"], "hash_ids_column": "h"},
        }
        print("| case | requests | seconds | requests/s | peak RSS |")
        print("| --- | ---: | ---: | ---: | ---: |")
        env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..")}
        for name, spec in cases.items():
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], env=env,
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            print(f"| {name} | {r['n']:,} | {r['s']:.1f} | {r['n'] / r['s'] / 1e6:.2f} M | "
                  f"{r['rss_mib']:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
