"""Engine speed: memsim vs NVIDIA's aisimulate on whole real traces (issue 2), run by hand.

Cases: the Mooncake conversation trace on 1x H100, the Azure conversation trace on 1x H100
and 1x A100, all Llama-3.1-8B.  Each run is a fresh subprocess (peak RSS from ``wait4``);
the clock covers only ``sim.run`` / aisimulate's ``predict``, after imports.

    python benchmarks/engine_speed.py [--repeat 2] [--cases mooncake-h100,...] [--write]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as pyplatform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import _aisim  # noqa: E402

RESULTS = HERE / "RESULTS.md"
SECTION = "## Engine speed (issue 2)"
TARGET_X = 500.0


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    scenario: str  # relative to the repo root
    overrides: dict = field(default_factory=dict)
    aisim_reference_x: float = 0.0  # issue 2's figure for aisimulate on this machine


CASES = [
    Case("mooncake-h100", "Mooncake conv / 1x H100", "scenarios/mooncake-h100-llama8b.yaml", {}, 1770.0),
    Case("azure-h100", "Azure conv / 1x H100", "scenarios/azure-conv-a100-llama8b.yaml",
         {"platform": "h100_sxm"}, 530.0),
    Case("azure-a100", "Azure conv / 1x A100", "scenarios/azure-conv-a100-llama8b.yaml", {}, 1000.0),
]
METRICS = ["completed", "sim_time_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "throughput_tok_s",
           "prefix_hit_ratio"]


# ---- child: one memsim run -------------------------------------------------------------

def _memsim_child(scenario: str, overrides_json: str) -> None:
    import sim  # imports (numpy, pandas, simpy, pydantic, the catalogue) are paid before the clock
    import hwmodels  # noqa: F401
    import workloads  # noqa: F401
    overrides = json.loads(overrides_json)
    t0 = time.perf_counter()
    res = sim.run(scenario, overrides=overrides)
    wall = time.perf_counter() - t0
    arr = res.requests["arrival_s"]
    out = {k: res.summary.get(k) for k in METRICS}
    out.update(wall_time_s=wall, self_reported_wall_s=res.summary["wall_time_s"],
               trace_span_s=float(arr.max() - arr.min()), requests=int(len(arr)))
    print(json.dumps(out))


# ---- parent ------------------------------------------------------------------------------

def _spawn(cmd: list[str], cwd: Path) -> tuple[dict, int]:
    """Run ``cmd``; return (its last stdout JSON line plus ``process_wall_s``, peak RSS bytes from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        process_wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{errtext[-3000:]}")
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON:\n{text[-2000:]}\n{errtext[-2000:]}")
    res = json.loads(lines[-1])
    res["process_wall_s"] = process_wall
    return res, usage.ru_maxrss * 1024  # Linux: KiB, max over the child and its waited-for descendants


def _best_of(repeat: int, cmd: list[str], cwd: Path) -> dict:
    runs = []
    for _ in range(repeat):
        res, rss = _spawn(cmd, cwd)
        res["peak_rss_bytes"] = rss
        runs.append(res)
    best = min(runs, key=lambda r: r["wall_time_s"])
    best["all_wall_s"] = [r["wall_time_s"] for r in runs]
    return best


def run_case(case: Case, *, repeat: int, aisim_python: str | None, scratch: Path) -> dict:
    scen_path = str(ROOT / case.scenario)
    print(f"[{case.name}] memsim x{repeat} ...", file=sys.stderr, flush=True)
    memsim = _best_of(repeat, [sys.executable, str(Path(__file__).resolve()), "--child-memsim", scen_path,
                               json.dumps(case.overrides)], ROOT)
    row = {"case": case.name, "label": case.label, "memsim": memsim, "aisim": None,
           "aisim_reference_x": case.aisim_reference_x}
    if aisim_python:
        from sim.config import load_scenario
        scen = load_scenario(scen_path, case.overrides)
        work = scratch / case.name
        config = _aisim.prepare(scenario=scen, workdir=work)
        print(f"[{case.name}] aisimulate x{repeat} ...", file=sys.stderr, flush=True)
        row["aisim"] = _best_of(repeat, [aisim_python, str(HERE / "_aisim.py"), str(config), str(work / "out")],
                                work)
        row["aisim"]["trace_span_s"] = memsim["trace_span_s"]
    return row


def _speeds(r: dict) -> tuple[float, float]:
    return r["sim_time_s"] / r["wall_time_s"], r["trace_span_s"] / r["wall_time_s"]


# ---- report --------------------------------------------------------------------------------

def machine() -> str:
    cpu = "unknown CPU"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
        mem_kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                       if ln.startswith("MemTotal"))
        ram = f"{mem_kib / 2**20:.1f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {ram}, " \
           f"Python {pyplatform.python_version()}"


def _aisim_version(python: str) -> str:
    try:
        return subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('aisimulate'))"],
                              capture_output=True, text=True, timeout=120).stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _f(x, spec=",.0f"):
    return "–" if x is None else format(x, spec)


def render(rows: list[dict], *, repeat: int, aisim_version: str | None) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [SECTION, "",
           f"Run {now} on {machine()}. The box is shared with other engineers' jobs, so each case ran "
           f"{repeat}x per engine, each in a fresh process, and the faster run is kept (all engine walls "
           "listed).", "",
           "- **engine wall**: memsim: time around `sim.run(...)` after imports (it includes loading the "
           "scenario and streaming the trace). aisimulate: the `wall_time_ms` its own report gives for "
           "the native replay (no imports, no Python start-up) — the figure the issue quotes.",
           "- **process wall**: the whole command as a user sees it: interpreter start-up and imports; "
           "for aisimulate also its supervised worker process and perf-table loading.",
           "- **sim x** = simulated seconds / engine wall; **trace x** = trace span / engine wall (an "
           "overloaded run simulates longer than the trace, so trace x is the like-for-like speed).",
           "- **memsim / aisim** = aisimulate's engine wall / memsim's engine wall on the same trace "
           "(above 1: memsim is faster). **peak RSS**: the process tree's maximum resident set (`wait4`).",
           "- " + (f"aisimulate {aisim_version} (vLLM backend, measured perf tables, its default KV "
                   "capacity), issue figure in brackets." if aisim_version else
                   "aisimulate not found (set AISIMULATE_PYTHON)."),
           "", f"Reproduce: `python benchmarks/engine_speed.py --repeat {repeat} --write`", "",
           "| case | engine | engine wall s (runs) | process wall s | sim s | sim x | trace x | peak RSS MiB "
           "| memsim / aisim | >= 500x |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        m, a = r["memsim"], r["aisim"]
        mx, mt = _speeds(m)
        ratio = a["wall_time_s"] / m["wall_time_s"] if a else None
        walls = ", ".join(f"{w:.2f}" for w in m["all_wall_s"])
        out.append(f"| {r['label']} | memsim | {m['wall_time_s']:.2f} ({walls}) | {m['process_wall_s']:.1f} | "
                   f"{_f(m['sim_time_s'])} | {_f(mx)} | {_f(mt)} | {m['peak_rss_bytes'] / 2**20:,.0f} | "
                   f"{_f(ratio, '.2f')} | {'yes' if min(mx, mt) >= TARGET_X else 'NO'} |")
        if a:
            ax, at = _speeds(a)
            walls = ", ".join(f"{w:.2f}" for w in a["all_wall_s"])
            out.append(f"| {r['label']} | aisimulate | {a['wall_time_s']:.2f} ({walls}) | "
                       f"{a['process_wall_s']:.1f} | {_f(a['sim_time_s'])} | {_f(ax)} "
                       f"(~{r['aisim_reference_x']:,.0f}) | {_f(at)} | {a['peak_rss_bytes'] / 2**20:,.0f} | | |")
    out.append("")
    if any(r["aisim"] for r in rows):
        out += ["Serving metrics on the same cases (TTFT/TPOT in seconds; throughput = output tokens / "
                "simulated seconds; prefix hit = memsim's hit-block ratio, aisimulate's "
                "`prefix_cache_reused_ratio`):", "",
                "| case | engine | completed | sim s | TTFT p50 | TTFT p99 | TPOT p50 | out tok/s | prefix hit |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            for name, d in (("memsim", r["memsim"]), ("aisimulate", r["aisim"])):
                if d is None:
                    continue
                out.append(f"| {r['label']} | {name} | {_f(d.get('completed'))} | {_f(d['sim_time_s'])} | "
                           f"{_f(d.get('ttft_p50_s'), ',.2f')} | {_f(d.get('ttft_p99_s'), ',.2f')} | "
                           f"{_f(d.get('tpot_p50_s'), '.4f')} | {_f(d.get('throughput_tok_s'), ',.0f')} | "
                           f"{_f(d.get('prefix_hit_ratio'), '.3f')} |")
        out += ["", "Why the latencies differ: docs/aisimulate-comparison.md.", ""]
    return "\n".join(out)


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace this benchmark's section of RESULTS.md (or append it), leaving others' sections alone."""
    body = path.read_text() if path.exists() else "# Benchmark results\n"
    start = body.find(SECTION)
    if start < 0:
        body = body.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        nxt = body.find("\n## ", start + len(SECTION))
        tail = body[nxt + 1:] if nxt >= 0 else ""
        body = body[:start] + text.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    path.write_text(body)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2, help="runs per case and engine; the fastest is kept")
    p.add_argument("--cases", default=",".join(c.name for c in CASES), help="comma-separated case names")
    p.add_argument("--no-aisim", action="store_true", help="skip aisimulate even where it is installed")
    p.add_argument("--write", action="store_true", help=f"replace our section of {RESULTS.name}")
    p.add_argument("--json", type=Path, help="also dump the raw figures here")
    p.add_argument("--child-memsim", nargs=2, metavar=("SCENARIO", "OVERRIDES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_memsim:
        _memsim_child(*args.child_memsim)
        return 0
    wanted = args.cases.split(",")
    unknown = set(wanted) - {c.name for c in CASES}
    if unknown:
        p.error(f"unknown case(s) {sorted(unknown)}; known: {', '.join(c.name for c in CASES)}")
    aisim_python = None if args.no_aisim else _aisim.find_python()
    sys.path.insert(0, str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory(prefix="engine_speed_") as scratch:
        for c in CASES:
            if c.name in wanted:
                rows.append(run_case(c, repeat=args.repeat, aisim_python=aisim_python, scratch=Path(scratch)))
    text = render(rows, repeat=args.repeat, aisim_version=_aisim_version(aisim_python) if aisim_python else None)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
