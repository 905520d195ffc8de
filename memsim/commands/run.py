"""``memsim run``: simulate a scenario file and print (or save) its summary."""
from __future__ import annotations

from ._common import add_command, print_json

HEADLINE = [
    ("completed", "completed requests", "{:,}"),
    ("rejected", "rejected requests", "{:,}"),
    ("throughput_tok_s", "output throughput (tok/s)", "{:,.1f}"),
    ("ttft_p50_s", "TTFT p50 (s)", "{:.4f}"),
    ("ttft_p99_s", "TTFT p99 (s)", "{:.4f}"),
    ("tpot_p50_s", "TPOT p50 (s)", "{:.5f}"),
    ("tpot_p99_s", "TPOT p99 (s)", "{:.5f}"),
    ("e2e_p50_s", "E2E p50 (s)", "{:.3f}"),
    ("prefix_hit_ratio", "prefix hit ratio (blocks, any tier)", "{:.4f}"),
    ("hbm_prefix_hit_ratio", "prefix hit ratio (blocks, HBM)", "{:.4f}"),
    ("prefix_hit_token_ratio", "prompt tokens served from HBM", "{:.4f}"),
    ("mean_batch_size", "mean batch size", "{:.1f}"),
    ("preemptions", "preemptions", "{:,}"),
    ("sim_time_s", "simulated time (s)", "{:,.1f}"),
    ("wall_time_s", "wall time (s)", "{:.2f}"),
    ("sim_speed", "speed (x real time)", "{:,.0f}"),
]


def format_summary(summary: dict, title: str = "") -> str:
    rows = []
    for key, label, fmt in HEADLINE:
        v = summary.get(key)
        if v is None:
            continue
        try:
            rows.append((label, fmt.format(v)))
        except (ValueError, TypeError):
            rows.append((label, str(v)))
    width = max(len(r[0]) for r in rows)
    head = f"{title}\n" if title else ""
    return head + "\n".join(f"  {label:<{width}}  {val:>14}" for label, val in rows)


def _run(args) -> int:
    import memsim.scenarios as scenarios
    from memsim.sim.config import load_scenario, parse_set
    path = args.scenario or str(scenarios.path("quickstart"))
    overrides = dict(parse_set(item) for item in args.set or [])
    scen = load_scenario(path, overrides, seed=args.seed)
    from memsim.sim.engine import Engine
    res = Engine(scen, progress=not args.json and not args.quiet).run()
    if args.out:
        res.save(args.out)
        if not args.no_report:
            try:
                import memsim.reports as reports
                render = getattr(reports, "render", None)
            except ImportError:
                render = None
            if render is not None:
                from pathlib import Path
                render(res, Path(args.out) / "report.html")
    if args.json:
        print_json(res.summary)
    elif not args.quiet:
        s = res.summary
        title = (f"{scen.name}: {s['model']} on {s['platform']} (tp={s['tp']}), "
                 f"{s['requests']:,} requests")
        print(format_summary(s, title))
        if args.out:
            print(f"  results written to {args.out}/")
    return 0


def register(sub) -> None:
    p = add_command(sub, "run", help="simulate a scenario and print its summary",
                    example="memsim run scenarios/quickstart.yaml --out runs/quick --set scheduler.max_batch_size=64",
                    func=_run)
    p.add_argument("scenario", nargs="?", help="scenario YAML (default: the built-in quickstart)")
    p.add_argument("--out", metavar="DIR", help="write Parquet tables, summary.json and report.html here")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a scenario field, e.g. --set kv.block_tokens=32 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing (use with --out)")
    p.add_argument("--no-report", action="store_true", help="with --out, skip report.html")
