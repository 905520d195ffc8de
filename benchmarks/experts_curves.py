"""The expert-cache curves of docs/weights-experts.md: Mixtral-8x7B on one L40S, experts in DRAM.

Prints three Markdown tables (hit ratio vs cache size per eviction policy; TPOT vs cache
size over PCIe gen4 and gen5; stall per token per prefetch policy) and checks the
issue's laws on them (LRU monotone, Belady at least every other policy, lookahead
below none).  Routing is the seeded synthetic router; its skew and correlation are
assumptions (flags), not measurements.

    python benchmarks/experts_curves.py                    # the numbers in the doc
    python benchmarks/experts_curves.py --tokens 300 --skew 0 --correlation 0
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memsim.hwmodels import load_platform  # noqa: E402
from memsim.sim.experts import expert_link, expert_slots, simulate_expert_cache  # noqa: E402
from memsim.sim.weights import layer_times  # noqa: E402
from memsim.workloads import load_model  # noqa: E402
from memsim.workloads.experts import synthetic_routing  # noqa: E402

EVICTIONS = ["lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "belady"]
PREFETCH = ["none", "lookahead", {"name": "lookahead", "depth": 2}, "hottest", "affinity"]
PCIE5_BYTES_PER_S = 63e9
"""PCIe 5.0 x16 per direction: 32 GT/s x 16 lanes x 128/130 / 8 (PCI Express Base
Specification 5.0; the figure h100_sxm.yaml uses).  The L40S is a gen4 card: gen5 is a what-if."""
WORKSPACE_BYTES = 2 * 2**30
"""Assumption: activations and runtime buffers held in HBM beside weights and KV."""


def _label(p) -> str:
    return p if isinstance(p, str) else f"{p['name']}(depth={p['depth']})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=1000, help="decode steps simulated (batch 1)")
    ap.add_argument("--skew", type=float, default=0.8, help="router skew (Zipf exponent)")
    ap.add_argument("--correlation", type=float, default=0.5, help="layer-to-layer affinity")
    ap.add_argument("--context", type=int, default=1024, help="context tokens of the sequence")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    hw, m = load_platform("l40s"), load_model("mixtral-8x7b")
    L, E, k = m.layers, m.moe.experts, m.moe.active_experts
    per = m.expert_bytes // L
    hbm = hw.tier("hbm").capacity
    free = hbm - m.dense_bytes - m.kv_bytes_per_token * args.context - WORKSPACE_BYTES
    max_slots = int(expert_slots(("bytes", free), layers=L, experts=E, expert_bytes=per).sum())
    c, other = layer_times(hw, m, batch=1, context_tokens=args.context)
    gen4_bw, lat = expert_link(hw, "dram")
    routing = synthetic_routing(tokens=args.tokens, layers=L, experts=E, active=k, skew=args.skew,
                                correlation=args.correlation, rng=np.random.default_rng(args.seed))
    print(f"Mixtral-8x7B on 1x L40S, experts in DRAM: one expert of one layer = {per / 2**20:.0f} MiB; "
          f"layer compute {c * 1e3:.3f} ms at batch 1, context {args.context}; PCIe gen4 "
          f"{gen4_bw / 1e9:.1f} GB/s; HBM holds at most {max_slots} of {L * E} experts "
          f"({free / 2**30:.1f} GiB after {m.dense_bytes / 2**30:.2f} GiB dense weights, KV and "
          f"{WORKSPACE_BYTES / 2**30:.0f} GiB workspace); router skew {args.skew}, correlation "
          f"{args.correlation}, {args.tokens} tokens, seed {args.seed}\n")
    base = dict(expert_bytes=per, link_latency_s=lat, layer_compute_s=c, other_s=other)
    totals = list(range(32, L * E + 1, 32))
    t0 = time.perf_counter()

    # 1. hit ratio vs cache size
    print("| cache (experts, all layers) | GiB | " + " | ".join(EVICTIONS) + " |")
    print("| --- | --- |" + " --- |" * len(EVICTIONS))
    lru_prev, ok_mono, ok_belady = -1.0, True, True
    for total in totals:
        slots = expert_slots(("bytes", total * per), layers=L, experts=E, expert_bytes=per)
        hr = {ev: simulate_expert_cache(routing, slots=slots, link_bytes_per_s=gen4_bw, eviction=ev,
                                        **base).hit_ratio for ev in EVICTIONS}
        ok_mono &= hr["lru"] >= lru_prev
        lru_prev = hr["lru"]
        ok_belady &= all(hr["belady"] >= v - 1e-12 for v in hr.values())
        mark = " (fits)" if total <= max_slots else ""
        print(f"| {total}{mark} | {total * per / 2**30:.1f} | " + " | ".join(f"{hr[e]:.3f}" for e in EVICTIONS) + " |")
    print(f"\nLRU monotone in cache size: {ok_mono}; Belady >= every policy at every size: {ok_belady}\n")

    # 2. TPOT vs cache size, PCIe gen4 vs gen5, LRU, without and with lookahead
    print("| cache (experts) | gen4 none TPOT ms | gen4 lookahead | gen5 none | gen5 lookahead | gen4 hit ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for total in totals:
        slots = expert_slots(("bytes", total * per), layers=L, experts=E, expert_bytes=per)
        row = []
        for bw in (gen4_bw, PCIE5_BYTES_PER_S):
            for pf in ("none", "lookahead"):
                row.append(simulate_expert_cache(routing, slots=slots, link_bytes_per_s=bw,
                                                 prefetch=pf, **base))
        print(f"| {total} | " + " | ".join(f"{r.tpot_s * 1e3:.1f}" for r in row) + f" | {row[0].hit_ratio:.3f} |")

    # 3. stall per token by prefetch policy, LRU, gen4
    sizes = [t for t in totals if t <= max_slots][-3:] + [L * E // 2 + 64]
    print("\n| cache (experts) | " + " | ".join(f"{_label(p)} stall ms" for p in PREFETCH)
          + " | lookahead vs none |")
    print("| --- |" + " --- |" * (len(PREFETCH) + 1))
    ok_look = True
    for total in sizes:
        slots = expert_slots(("bytes", total * per), layers=L, experts=E, expert_bytes=per)
        res = [simulate_expert_cache(routing, slots=slots, link_bytes_per_s=gen4_bw, prefetch=p, **base)
               for p in PREFETCH]
        ok_look &= res[1].stall_s_per_token < res[0].stall_s_per_token
        gain = 1 - res[1].stall_s_per_token / res[0].stall_s_per_token
        print(f"| {total} | " + " | ".join(f"{r.stall_s_per_token * 1e3:.1f} (hit {r.hit_ratio:.2f}, "
                                           f"wasted {r.wasted_prefetches})" for r in res)
              + f" | -{100 * gain:.1f}% |")
    print(f"\nlookahead stalls less than none at every size: {ok_look}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0 if ok_mono and ok_belady and ok_look else 1


if __name__ == "__main__":
    raise SystemExit(main())
