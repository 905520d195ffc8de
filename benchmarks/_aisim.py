"""Drive NVIDIA's aisimulate on the same cases as memsim (benchmark only, never a dependency).

Two halves.  ``prepare`` runs in memsim's Python: it writes an aisimulate prediction
config (and, for the Azure CSV, which aisimulate cannot read, a Mooncake-format JSONL
copy made with memsim's own reader) into a scratch folder.  ``python _aisim.py CONFIG
OUTDIR``, run by aisimulate's interpreter, calls its supervised ``predict`` and prints one
JSON line with aisimulate's own engine clock; it imports nothing from memsim.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

DEFAULT_PYTHONS = ("/work/venvs/aisim/bin/python", "/tmp/aisim-venv/bin/python")
"""Where docs/aisimulate-comparison.md installs aisimulate (its own venv, never memsim's)."""
ENV_VAR = "AISIMULATE_PYTHON"

# memsim platform name -> aisimulate system name
HARDWARE = {"h100_sxm": "h100_sxm", "a100_sxm_80gb": "a100_sxm", "h200_sxm": "h200_sxm"}
MODELS = {"llama-3.1-8b": "meta-llama/Meta-Llama-3.1-8B"}
HASH_BLOCK_TOKENS = 512  # Mooncake's hash_ids granularity; aisimulate's default for trace input


def find_python() -> str | None:
    """aisimulate's interpreter: $AISIMULATE_PYTHON, else a default venv if present, else None."""
    given = os.environ.get(ENV_VAR)
    if given:
        return given if Path(given).exists() else None
    return next((p for p in DEFAULT_PYTHONS if Path(p).exists()), None)


def write_mooncake_jsonl(requests, path: Path) -> int:
    """Write memsim Requests as Mooncake JSONL (ms timestamps); requests without hashes get unique ids.

    Unique ids per 512-token block mean aisimulate's prefix cache can never hit, as in
    memsim, where a request without ``hash_ids`` never hits either.
    """
    next_id = 0
    n = 0
    with open(path, "w") as f:
        for r in requests:
            if r.hash_ids is not None:
                ids = list(r.hash_ids)
            else:
                k = max(1, math.ceil(r.input_tokens / HASH_BLOCK_TOKENS))
                ids = list(range(next_id, next_id + k))
                next_id += k
            f.write(json.dumps({"timestamp": round(r.arrival_s * 1000.0, 3), "input_length": r.input_tokens,
                                "output_length": r.output_tokens, "hash_ids": ids}) + "\n")
            n += 1
    return n


def prepare(*, scenario, workdir: Path) -> Path:
    """Write the aisimulate config for a loaded memsim Scenario into ``workdir``; returns its path."""
    from memsim.workloads import open_workload, resolve_path
    from memsim.workloads.spec import MooncakeSpec
    wl, platform = scenario.workload, scenario.platform
    if platform.endswith((".yaml", ".yml")):  # a hardware file (e.g. a recalibrated copy) named like a built-in
        platform = Path(platform).stem
    if platform not in HARDWARE:
        raise ValueError(f"no aisimulate system known for memsim platform {platform!r}")
    if scenario.model not in MODELS:
        raise ValueError(f"no aisimulate model known for memsim model {scenario.model!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(wl, MooncakeSpec) and wl.hash_block_tokens == HASH_BLOCK_TOKENS and wl.limit is None \
            and not wl.start and wl.end is None and wl.time_scale == 1:
        trace = resolve_path(wl.path, scenario.base_dir)
    else:
        trace = workdir / "trace.jsonl"
        write_mooncake_jsonl(open_workload(wl, base_dir=scenario.base_dir, seed=scenario.seed), trace)
    sch = scenario.scheduler
    config = {
        "engine": {
            "mode": "aggregated",
            "model": MODELS[scenario.model],
            "hardware": HARDWARE[platform],
            "backend": "vllm",
            "workers": {"aggregated": {
                "scheduler": {"max_batched_tokens": sch.max_batch_tokens, "max_sequences": sch.max_batch_size},
                "kv_cache": {"prefix_caching": bool(scenario.kv.prefix_cache_on())},
            }},
        },
        "traffic": {
            "source": {"type": "trace", "paths": [str(trace)], "format": "mooncake"},
            "load": {"type": "trace_timestamps"},
        },
    }
    cl = getattr(scenario, "cluster", None)
    if cl is not None:
        # aisimulate's replicas: N identical aggregated workers; only the simple, round-robin
        # form has a counterpart (its routing of plain traces is round robin)
        router = cl.router if isinstance(cl.router, str) else getattr(cl.router, "name", cl.router)
        if cl.replicas is None or router != "round_robin":
            raise ValueError("aisimulate comparison needs cluster: {replicas: N, router: round_robin}")
        config["engine"]["workers"]["aggregated"]["parallelism"] = {"replicas": int(cl.replicas)}
    path = workdir / "aisimulate.json"  # JSON is valid YAML, which aisimulate reads
    path.write_text(json.dumps(config, indent=1))
    return path


# ---- child side: runs under aisimulate's own interpreter ---------------------------------

SUMMARY_KEYS = {  # aisimulate key -> (memsim-like key, scale to seconds)
    "duration_ms": ("sim_time_s", 1e-3),
    "median_ttft_ms": ("ttft_p50_s", 1e-3),
    "p99_ttft_ms": ("ttft_p99_s", 1e-3),
    "median_tpot_ms": ("tpot_p50_s", 1e-3),
    "output_throughput_tok_s": ("throughput_tok_s", 1.0),
    "completed_requests": ("completed", 1),
    "prefix_cache_reused_ratio": ("prefix_hit_ratio", 1.0),
    "wall_time_ms": ("self_reported_wall_s", 1e-3),
}


def _child(config: str, outdir: str) -> None:
    """Run ``aisimulate predict`` through its ordinary, supervised entry point and print one JSON line.

    aisimulate refuses to replay a trace it has not yet measured unless a supervisor
    watches the run, so the replay itself happens in its own worker interpreter.  Its
    report's ``wall_time_ms`` is the native replay's own clock (no imports, no Python
    start-up); ``cli_wall_s`` is the whole predict call, worker start-up included.
    """
    import contextlib
    import io

    from aisimulate.supervision import main as predict_main
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rc = predict_main(["predict", "-c", config, "--output-dir", outdir, "--overwrite", "--format", "json"])
    cli_wall = time.perf_counter() - t0
    if rc != 0:
        sys.stderr.write(buf.getvalue())
        raise SystemExit(f"aisimulate predict exited {rc}")
    raw = json.loads((Path(outdir) / "prediction.json").read_text())
    out = {"cli_wall_s": cli_wall}
    for key, (name, scale) in SUMMARY_KEYS.items():
        if raw.get(key) is not None:
            out[name] = raw[key] * scale
    out["wall_time_s"] = out["self_reported_wall_s"]
    runtime = Path(outdir) / "resource-runtime.json"
    if runtime.exists():
        rt = json.loads(runtime.read_text())
        out["worker_peak_rss_bytes"] = rt.get("peak_observed_rss_bytes")
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python _aisim.py CONFIG OUTDIR  (run with aisimulate's interpreter)")
    _child(sys.argv[1], sys.argv[2])
