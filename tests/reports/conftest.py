"""Fixtures: Results built by hand with the documented columns (no engine run needed) and a
headless-Chromium driver (``_report_browser.py``, loaded by path: tests run in importlib mode)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memsim.sim.result import Result, summarize_requests


def make_result(seed: int = 0, *, n: int = 120, rate: float = 4.0, tiers=("hbm", "dram"),
                links=(("pcie", "h2d"), ("pcie", "d2h")), mrc: bool = True, name: str | None = None) -> Result:
    """A plausible serving run: Poisson arrivals, queueing, prefill, decode, tier samples."""
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    inp = rng.integers(200, 4000, n)
    out = rng.integers(10, 300, n)
    queue = rng.exponential(0.2, n)
    load = rng.exponential(0.01, n)
    prefill = inp * 2e-5
    tpot = rng.uniform(0.01, 0.03, n)
    sched = arrival + queue
    first = sched + load + prefill
    finish = first + (out - 1) * tpot
    blocks = np.ceil(inp / 512).astype(int)
    hit = rng.integers(0, blocks + 1)
    status = np.array(["completed"] * n, dtype=object)
    status[-3:] = "unfinished"
    finish[-3:] = np.nan
    req = pd.DataFrame({
        "request_id": np.arange(n), "arrival_s": arrival, "input_tokens": inp, "output_tokens": out,
        "generated_tokens": np.where(status == "completed", out, out // 2),
        "prefix_hit_tokens": hit * 512, "prefix_hit_blocks": hit, "prefix_blocks": blocks,
        "scheduled_s": sched, "first_token_s": first, "finish_s": finish, "queue_s": queue,
        "ttft_s": first - arrival, "tpot_s": tpot, "e2e_s": finish - arrival,
        "preemptions": np.zeros(n, dtype=int), "status": status, "reason": [""] * n, "load_s": load,
    })
    t_end = float(np.nanmax(finish))
    starts = np.sort(rng.uniform(0, t_end, 300))
    it = pd.DataFrame({"start_s": starts, "duration_s": np.diff(np.append(starts, t_end)),
                       "steps": rng.integers(1, 20, 300), "batch_size": rng.integers(1, 32, 300),
                       "prefill_tokens": rng.integers(0, 2048, 300),
                       "decode_tokens": rng.integers(1, 32, 300), "kv_tokens": rng.integers(0, 1 << 16, 300)})
    trows = []
    for k, tier in enumerate(tiers):
        cap = (80 << 30) * (k + 1)
        used = np.minimum(np.cumsum(rng.integers(0, 1 << 28, 500)), cap)
        ts = np.linspace(0, t_end, 500)
        hits = np.cumsum(rng.integers(0, 5, 500))
        trows.append(pd.DataFrame({"time_s": ts, "tier": tier, "used_bytes": used, "capacity_bytes": cap,
                                   "hit_blocks": hits, "miss_blocks": np.cumsum(rng.integers(0, 5, 500))}))
    tier_df = pd.concat(trows, ignore_index=True) if trows else pd.DataFrame(
        columns=["time_s", "tier", "used_bytes", "capacity_bytes"])
    lrows = [pd.DataFrame({"time_s": np.arange(0.0, t_end, 0.5), "link": link, "direction": d,
                           "bytes": rng.integers(0, 10 << 30, len(np.arange(0.0, t_end, 0.5)))})
             for link, d in links]
    link_df = pd.concat(lrows, ignore_index=True) if lrows else pd.DataFrame(
        columns=["time_s", "link", "direction", "bytes"])
    summary = summarize_requests(req)
    summary.update(throughput_tok_s=float(req["generated_tokens"].sum() / t_end), sim_time_s=t_end,
                   wall_time_s=0.5)
    extras = {}
    if mrc:
        caps = np.array([1, 2, 4, 8, 16, 32, 64, 128])
        extras["mrc"] = pd.concat([pd.DataFrame({"policy": p, "capacity_blocks": caps,
                                                 "miss_ratio": np.sort(rng.uniform(0.1, 0.9, 8))[::-1]})
                                   for p in ("lru", "s3fifo")], ignore_index=True)
    scenario = {"name": name or f"synthetic-{seed}", "platform": "h100_sxm", "model": "llama-3.1-8b",
                "workload": {"kind": "synthetic", "requests": n, "arrivals": {"rate": f"{rate}/s"}},
                "scheduler": {"max_batch_size": 32}, "kv": {"block_tokens": 16,
                "tiers": [{"name": t, "capacity": f"{80 * (i + 1)} GiB"} for i, t in enumerate(tiers)]},
                "seed": seed}
    return Result(summary=summary, requests=req, iterations=it, tiers=tier_df, links=link_df,
                  scenario=scenario, extras=extras)


@pytest.fixture(name="make_result", scope="session")
def make_result_fixture():
    """``make_result(seed, n=..., rate=..., tiers=..., links=..., mrc=..., name=...)`` -> Result."""
    return make_result


@pytest.fixture(scope="session")
def browser():
    """The ``_report_browser`` module (find_chromium, open_report, png_pixels)."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("_report_browser", Path(__file__).with_name("_report_browser.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def engine_results(tmp_path_factory):
    """Two real quickstart runs (small), saved: {label: (Result, folder)}."""
    from pathlib import Path

    import memsim
    quick = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"
    root = tmp_path_factory.mktemp("engine-results")
    out = {}
    for label, over in (("lru", {}), ("small-kv", {"kv.memory_fraction": 0.26})):
        res = memsim.run(quick, overrides={"workload.num_requests": 150, **over}, out=root / label)
        out[label] = (res, root / label)
    return out
