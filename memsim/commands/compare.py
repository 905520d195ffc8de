"""``memsim compare``: run scenarios side by side and print their metrics with deltas."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_command, print_json
from ._figures import add_figure_args, check_figure_args
from ._numbers import MAX_WORKERS, SEED, count
from ._table import table


def add_executor_args(p) -> None:
    """--executor/--workers/--scheduler/--quiet, shared with ``memsim sweep``."""
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local processes (default) or Dask")
    p.add_argument("--workers", type=count(1, MAX_WORKERS), metavar="N", help="parallel runs (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler (implies --executor dask)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress on stderr (shown by default: a bar in a terminal, a line "
                        "every few seconds in a log)")
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)   # the old opt-in, now the default


def _compare(args) -> int:
    from memsim.ground.files import check_output
    from memsim.reports.tables import comparison_table
    from memsim.sim.overrides import parse_sets
    from memsim.studies.compare import run_scenarios
    check_figure_args(args)
    check_output(args.out, "dir", flag="--out", force=args.force)     # before anything runs
    overrides = parse_sets(args.set)          # the same path twice is an error, as in run
    executor = "dask" if args.scheduler else args.executor
    df, results = run_scenarios(args.scenarios, executor=executor, workers=args.workers,
                                scheduler=args.scheduler, seed=args.seed, overrides=overrides,
                                keep_results=bool(args.out), progress=not args.quiet)
    status = 0 if (df["error"] == "").all() else 1
    if args.out and results:
        import memsim.reports as reports
        from memsim.ground.files import result_folder
        # one transaction for the whole folder: every result and the report, or the old ones
        folders = _folder_names(results)
        with result_folder(Path(args.out), kind="compare", owned=[*folders.values(), "report.html",
                                                                   "report-figures"],
                           derived=("report.html", "report-figures")) as tmp:
            for label, res in results.items():
                res.save(tmp / folders[label])
            reports.render(results, tmp / "report.html", plotly_js=args.plotly_js,
                           image_format=args.image_format)
    if args.json:
        for row in df.to_dict(orient="records"):
            print_json(row)
        return status
    for _, row in df[df["error"] != ""].iterrows():
        print(f"{row['scenario']}: {row['error']}")
    ok = df[df["error"] == ""]
    if len(ok):
        tab = comparison_table({r["scenario"]: r.to_dict() for _, r in ok.iterrows()})
        print(table(list(tab.columns), tab.astype(str).values.tolist()))
    if args.out and results:
        print(f"  results and report.html written to {args.out}/")
    return status


def _folder_names(results) -> dict[str, str]:
    """One safe, distinct folder name per label (``..`` or ``a/b`` never leave OUT)."""
    from memsim.ground.files import safe_name
    out: dict[str, str] = {}
    for label in results:
        name = base = safe_name(label, default="scenario")
        if name in ("report.html", "report-figures", "manifest.json"):
            name = base = f"{name}_"
        i = 2
        while name in out.values():
            name, i = f"{base}_{i}", i + 1
        out[label] = name
    return out


def register(sub) -> None:
    p = add_command(sub, "compare", help="run scenarios side by side and print their metrics, "
                    "with the change of each against the first",
                    example="memsim compare scenarios/quickstart.yaml my.yaml --out runs/cmp", func=_compare)
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario YAML files")
    p.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a field in every scenario (repeatable)")
    p.add_argument("--seed", type=SEED, help="override every scenario's seed")
    p.add_argument("--out", metavar="DIR", help="save each result and report.html here")
    p.add_argument("--json", action="store_true", help="print one JSON object per scenario")
    p.add_argument("--force", action="store_true",
                   help="with --out, write into a non-empty folder that is not memsim's (its other "
                        "files are kept)")
    add_executor_args(p)
    add_figure_args(p, where="in OUT/report-figures/ (with --out)")
