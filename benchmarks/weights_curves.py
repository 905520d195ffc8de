"""The weight-streaming curves of docs/weights-experts.md: models larger than HBM, one GPU.

Llama-3.1-70B bf16 on one H100 with host DRAM (a given placement and the FlexGen LP's)
and OPT-30B on one RTX 4090: TPOT at batch 1 against the issue's estimate (HBM part's
time + bytes outside HBM / link bandwidth), and throughput vs batch (FlexGen's
argument: streamed bytes per iteration do not grow with the batch).  Each batch is
marked with whether the weights' HBM share, two stream buffers and the batch's KV fit.

    python benchmarks/weights_curves.py
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memsim.ground.errors import SimulationError  # noqa: E402
from memsim.hwmodels import load_platform  # noqa: E402
from memsim.sim.weights import (  # noqa: E402
    check_fits,
    flexgen_placement,
    layer_times,
    parse_placement,
    stream_iteration,
    stream_plan,
)
from memsim.workloads import load_model  # noqa: E402

CONTEXT = 1024
"""Tokens of context per sequence at the measured decode step (prompt 512 + 512 generated)."""
BATCHES = (1, 2, 4, 8, 16, 32, 64)


def case(platform: str, model: str, placement, link: str, depth: int = 1) -> bool:
    hw, m = load_platform(platform), load_model(model)
    p = placement if not isinstance(placement, dict) else parse_placement(placement, hw)
    plan = stream_plan(hw, m, p)
    bw = hw.link(link).bandwidth
    c1, o1 = layer_times(hw, m, batch=1, context_tokens=CONTEXT)
    t1 = stream_iteration(plan, c1, prefetch_depth=depth, other_s=o1)
    est = p.fraction("hbm") * c1 * m.layers + o1 + plan.streamed_bytes_per_iteration / bw
    print(f"\n### {m.name} on 1x {hw.name}: {p!r}, prefetch depth {depth}\n")
    print(f"weights {m.weight_bytes / 1e9:.1f} GB, streamed per iteration "
          f"{plan.streamed_bytes_per_iteration / 1e9:.1f} GB over {link} ({bw / 1e9:.1f} GB/s); "
          f"TPOT at batch 1 = {t1.iteration_s * 1e3:.1f} ms, estimate {est * 1e3:.1f} ms "
          f"({100 * (t1.iteration_s / est - 1):+.1f}%); all in HBM would be "
          f"{(c1 * m.layers + o1) * 1e3:.1f} ms\n")
    print("| batch | layer compute ms | TPOT ms | stall ms | tokens/s | link busy | fits in HBM |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    prev, rising = 0.0, True
    for b in BATCHES:
        c, o = layer_times(hw, m, batch=b, context_tokens=CONTEXT)
        t = stream_iteration(plan, c, prefetch_depth=depth, other_s=o)
        try:
            left = check_fits(plan, prefetch_depth=depth, kv_bytes=b * CONTEXT * m.kv_bytes_per_token,
                              hbm_capacity_bytes=hw.tier("hbm").capacity)
            fits = f"yes ({left / 2**30:.1f} GiB left)"
        except SimulationError:
            fits = "no"
        tput = b / t.iteration_s
        rising &= tput > prev
        prev = tput
        print(f"| {b} | {c * 1e3:.3f} | {t.iteration_s * 1e3:.1f} | {t.stall_s * 1e3:.1f} | {tput:.2f} | "
              f"{100 * t.link_busy_fraction:.0f}% | {fits} |")
    within = abs(t1.iteration_s / est - 1) <= 0.10
    print(f"\nTPOT at batch 1 within 10% of the estimate: {within}; throughput rises with batch: {rising}")
    return within and rising


def main() -> int:
    h100, llama = load_platform("h100_sxm"), load_model("llama-3.1-70b")
    ok = case("h100_sxm", "llama-3.1-70b", {"hbm": "50%", "dram": "50%"}, "pcie")
    ok &= case("h100_sxm", "llama-3.1-70b", {"hbm": "50%", "dram": "50%"}, "pcie", depth=0)
    lp = flexgen_placement(h100, llama, batch=16, prompt_len=512, gen_len=512)
    ok &= case("h100_sxm", "llama-3.1-70b", lp, "pcie")
    ok &= case("rtx4090", "opt-30b", {"hbm": "30%", "dram": "70%"}, "pcie")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
