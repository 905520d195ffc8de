"""``memsim report``: render the HTML report of one or more saved result folders."""
from __future__ import annotations

from pathlib import Path

from ._common import add_command
from ._figures import add_figure_args, check_figure_args


def _report(args) -> int:
    import memsim.reports as reports
    from memsim.ground.files import check_output
    from memsim.reports._data import labels_from_dirs
    from memsim.sim.result import load_result
    check_figure_args(args)
    if args.out is not None:
        out = Path(args.out)
    elif len(args.results) == 1:
        out = Path(args.results[0]) / "report.html"
    else:
        out = Path("report.html")
    if args.out is not None or len(args.results) > 1 or Path(args.results[0]).is_dir():
        check_output(args.out if args.out is not None else str(out), "file", flag="--out")
    results = {label: load_result(d) for label, d in zip(labels_from_dirs(args.results), args.results)}
    path = reports.render(results, out, title=args.title, plotly_js=args.plotly_js,
                          image_format=args.image_format)
    print(f"report written to {path}")
    if args.image_format:
        print(f"  figures written to {path.with_name(path.stem + '-figures')}/")
    return 0


def register(sub) -> None:
    p = add_command(sub, "report", help="render a self-contained HTML report of saved results "
                    "(several folders: overlaid figures and a comparison with deltas)",
                    example="memsim report runs/lru runs/s3fifo --out compare.html", func=_report)
    p.add_argument("results", nargs="+", metavar="RESULT_DIR", help="folders written by memsim run --out")
    p.add_argument("--out", metavar="FILE", help="report file (default: RESULT_DIR/report.html for "
                   "one folder, ./report.html for several)")
    p.add_argument("--title", help="page title")
    add_figure_args(p, where="in REPORT-figures/ beside the report")
