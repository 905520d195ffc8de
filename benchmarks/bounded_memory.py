"""Peak RSS of ``memsim replay`` on a synthetic Mooncake trace, and of ``memsim run --out``
(with report.html) against ``--json`` alone (issue 21).

    python benchmarks/bounded_memory.py replay --lines 2000000
    python benchmarks/bounded_memory.py run --requests 1000000

The trace (about 12 hash ids a line, heavy reuse) and the scenario (``scale_10m.py``'s) are
written to a temporary folder; each command runs in a child process, whose peak RSS is
``ru_maxrss`` of RUSAGE_CHILDREN (one child per measurement, so the maximum is its own).
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def write_trace(path: Path, lines: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        t = 0
        for _ in range(lines):
            t += rng.randint(0, 40)
            k = rng.randint(4, 20)
            base = int(rng.paretovariate(1.1) * 50) % 200_000
            f.write(json.dumps({"timestamp": t, "input_length": k * 512, "output_length": 64,
                                "hash_ids": [base * 31 + j for j in range(k)]}) + "\n")


def measure(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one child running ``cmd``."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("replay", "run"))
    ap.add_argument("--lines", type=int, default=2_000_000, help="replay: trace lines")
    ap.add_argument("--requests", type=int, default=1_000_000, help="run: synthetic requests")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="memsim-bounded-"))
    work.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "memsim"]
    if args.what == "replay":
        trace = work / f"mooncake_{args.lines}.jsonl"
        if not trace.exists():
            write_trace(trace, args.lines)
        rss, wall = measure(py + ["replay", str(trace), "--format", "mooncake", "--policy", "lru",
                                  "--capacity", "100000"])
        print(json.dumps({"what": "replay", "lines": args.lines, "peak_rss_mib": round(rss),
                          "wall_s": round(wall, 1)}))
        return 0
    import yaml
    from scale_10m import scenario
    scen = work / f"scale_{args.requests}.yaml"
    scen.write_text(yaml.safe_dump(scenario(args.requests, None)))
    rss, wall = measure(py + ["run", str(scen), "--quiet", "--out", str(work / "out"), "--force"])
    print(json.dumps({"what": "run --out", "requests": args.requests, "peak_rss_mib": round(rss),
                      "wall_s": round(wall, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
