"""``memsim sweep``: run every point of a sweep file into a Parquet dataset, skipping finished ones."""
from __future__ import annotations

from ._common import add_command, print_json
from ._figures import add_figure_args, check_figure_args
from ._table import table
from .compare import add_executor_args

_SHOW = ("throughput_tok_s", "ttft_p50_s", "tpot_p50_s", "prefix_hit_ratio")


def _sweep(args) -> int:
    from memsim.ground.files import check_output
    from memsim.reports.tables import format_metric
    from memsim.studies.sweep import AS_WRITTEN, RESULTS_FILE, SWEEP_MARKERS, load_sweep, run_sweep
    check_figure_args(args)
    if args.out is not None:
        check_output(args.out, "dir", flag="--out", force=args.force, markers=SWEEP_MARKERS)
    sw = load_sweep(args.sweep, out=args.out)
    if args.out is None and sw.out is not None:      # the file's out: (or sweeps/<name>)
        check_output(str(sw.out), "dir", flag="out", force=args.force, markers=SWEEP_MARKERS)
    sw.check_size(yes=args.yes)   # before any point is built (the progress bar then shows the size)
    executor = "dask" if args.scheduler else args.executor
    run = run_sweep(sw, executor=executor, workers=args.workers, scheduler=args.scheduler,
                    progress=not args.quiet, save_runs=args.save_runs,
                    retry_failed=args.retry_failed, yes=args.yes)
    info = {"points": len(run.table), "ran": run.ran, "skipped": run.skipped, "failed": run.failed,
            "results": str(run.out / RESULTS_FILE) if run.out else None}
    if run.out and len(run.table) and not args.no_report:
        from memsim.reports.sweep_report import render_sweep
        info["report"] = str(render_sweep(run.table, run.params, list(sw.spec.show or _SHOW), run.out / "report.html",
                                          title=f"memsim sweep: {sw.file or 'sweep'}", plotly_js=args.plotly_js,
                                          image_format=args.image_format))
    if args.json:
        print_json(info)
        return 0 if not run.failed else 1
    df = run.table
    params = run.params
    wanted = sw.spec.show or _SHOW
    missing = [c for c in wanted if c not in df.columns and len(df)]
    if missing and run.ran + run.skipped:
        from memsim.ground.errors import ConfigError
        raise ConfigError(f"show: no summary metric {missing[0]!r} in the results", file=sw.file, field="show")
    shown = [c for c in wanted if c in df.columns]
    written = [c + AS_WRITTEN if c + AS_WRITTEN in df.columns else c for c in params]
    rows = [[str(r[c]) for c in written] + [format_metric(c, r[c]) for c in shown] + [r["error"]]
            for _, r in df.iterrows()]
    print(table(params + shown + ["error"], rows))
    print(f"  {info['points']} points: {run.ran} run, {run.skipped} already done, {run.failed} failed"
          + (f"; dataset: {info['results']}" if info["results"] else "")
          + (f"; report: {info['report']}" if info.get("report") else ""))
    return 0 if not run.failed else 1


def register(sub) -> None:
    p = add_command(sub, "sweep", help="run a parameter sweep (grid and zipped dotted paths over a "
                    "base scenario) in parallel; rerunning skips finished points",
                    example="memsim sweep scenarios/sweep-batching.yaml --workers 2", func=_sweep)
    p.add_argument("sweep", metavar="SWEEP", help="sweep YAML (base:, grid:, zip:, seeds:, out:)")
    p.add_argument("--out", metavar="DIR", help="results folder (default: the file's out:, "
                   "else sweeps/<file name>)")
    p.add_argument("--save-runs", action="store_true",
                   help="also save every point's full result under OUT/runs/<point>/ (for memsim report)")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the points that failed last time (they are skipped otherwise)")
    p.add_argument("--yes", action="store_true", help="run a sweep of more than 1,000 points (refused "
                   "otherwise: a grid of two long lists is easy to write by mistake)")
    p.add_argument("--json", action="store_true", help="print one JSON object: points, ran, skipped, failed")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out folder that "
                   "is not a sweep's (its other files are kept)")
    p.add_argument("--no-report", action="store_true", help="skip OUT/report.html (each metric vs each swept "
                   "parameter)")
    add_executor_args(p)
    add_figure_args(p, where="in OUT/report-figures/")
