"""``memsim run``: simulate a scenario file of any kind and print (or save) its result.

Serve scenarios print the summary table below (``--out`` saves tables and a report);
other kinds print what their own command prints (``memsim flash``, ``memsim offload``),
or their result as JSON for a kind without a printer here.
"""
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
    text = head + "\n".join(f"  {label:<{width}}  {val:>14}" for label, val in rows)
    from memsim.sim.overload import overload_hint
    hint = overload_hint(summary)
    return text + (f"\n  {hint}" if hint else "")


def _run(args) -> int:
    from memsim.ground.files import check_output
    from memsim.sim import kinds
    from memsim.sim.overrides import parse_sets
    check_output(args.out, "dir", flag="--out", force=args.force)   # before anything runs
    overrides = parse_sets(args.set)
    scen = kinds.load_scenario(args.scenario or "quickstart", overrides, seed=args.seed)
    kind = kinds.kind_of(scen)
    if kind != "serve":
        return _run_kind(kind, scen, args)
    from memsim.sim.engine import engine_for
    res = engine_for(scen, progress=not args.json and not args.quiet).run()
    if args.out:
        render = None
        if not args.no_report:
            try:
                import memsim.reports as reports
                render = getattr(reports, "render", None)
            except ImportError:
                render = None
        # the report is part of the result's transaction: a kill leaves both old or both new
        res.save(args.out, force=args.force,
                 also=None if render is None else lambda folder: render(res, folder / "report.html"))
    if args.json:
        print_json(res.summary)
    elif not args.quiet:
        s = res.summary
        title = (f"{scen.name}: {s['model']} on {s['platform']} (tp={s['tp']}), "
                 f"{s['requests']:,} requests")
        if "replicas" in s:
            title += f", {s['replicas']} replicas behind {s['router']}"
        print(format_summary(s, title))
        if args.out:
            print(f"  results written to {args.out}/")
    return 0


def _run_kind(kind: str, scen, args) -> int:
    """A scenario of another kind: its runner, printed by its command's printer (or as JSON)."""
    from memsim.ground.errors import ConfigError
    from memsim.sim import kinds

    from . import flash, offload, train
    printers = {"flash": flash.report, "offload": offload.report, "train": train.report}
    if args.out:
        raise ConfigError(f"a kind: {kind} scenario writes no result folder; drop --out "
                          "(--json prints the result)", field="--out")
    result = kinds.run_loaded(scen, progress=not args.json and not args.quiet and
                              "progress" in kinds.options(kind))
    if args.quiet:
        return 0
    if kind in printers:
        printers[kind](scen, result, as_json=args.json)
    else:
        print_json(_jsonable(result))
    return 0


def _jsonable(result):
    if isinstance(result, (list, tuple)):
        return [_jsonable(r) for r in result]
    return getattr(result, "summary", result)


def register(sub) -> None:
    p = add_command(sub, "run", help="simulate a scenario and print its summary",
                    example="memsim run scenarios/quickstart.yaml --out runs/quick --set scheduler.max_batch_size=64",
                    func=_run)
    p.add_argument("scenario", nargs="?",
                   help="scenario YAML of any kind (serve, flash, offload), or the name of a "
                        "shipped one such as quickstart (default: quickstart)")
    p.add_argument("--out", metavar="DIR", help="write Parquet tables, summary.json and report.html here")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a scenario field, e.g. --set kv.block_tokens=32 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing (use with --out)")
    p.add_argument("--no-report", action="store_true", help="with --out, skip report.html")
    p.add_argument("--force", action="store_true",
                   help="with --out, write into a non-empty folder that is not a memsim result "
                        "(its other files are kept; same-named ones are replaced)")
