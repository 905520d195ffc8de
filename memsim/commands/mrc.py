"""``memsim mrc``: miss-ratio curve of a trace (one-pass for LRU, parallel replay otherwise)."""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json
from ._figures import add_figure_args, check_figure_args
from ._numbers import MAX_WORKERS, count
from ._table import table
from .replay import add_trace_args, load_trace, no_repeats, parse_capacity


def _capacity_unit(args) -> str:
    """What one unit of capacity is, for the figure's axis."""
    if args.capacity_unit == "bytes":
        return "bytes"
    return "blocks of 512 tokens" if args.format == "mooncake" else "objects"


def _mrc(args) -> int:
    import numpy as np

    from memsim.ground.files import check_output
    from memsim.ground.progress import Progress
    from memsim.policies.arguments import MAX_CAPACITIES
    from memsim.policies.mrc import capacity_grid, figure, mrc, write_curve
    check_figure_args(args)
    if args.image_format and not args.html:
        raise ConfigError("writes the figure beside --html FILE; give --html", field="--image-format")
    if args.out is not None and not args.out.endswith((".csv", ".json")):
        raise ConfigError(f"{args.out}: output must end in .csv or .json", field="--out")
    check_output(args.out, "file", flag="--out")          # before the trace is read
    check_output(args.html, "file", flag="--html")
    no_repeats("--policy", args.policy, args.policy)
    acc, sizes = load_trace(args)
    if args.capacities:
        parts = [c for item in args.capacities for c in item.split(",") if c.strip()]
        caps = [parse_capacity(c.strip(), args.capacity_unit) for c in parts]
        no_repeats("--capacities", parts, caps)
        if len(caps) > MAX_CAPACITIES:
            raise ConfigError(f"{len(caps):,} capacities; a curve may have at most "
                              f"{MAX_CAPACITIES:,}", field="--capacities")
    else:
        total = int(np.sum(sizes)) if sizes is not None else len(np.unique(acc.ids))
        caps = capacity_grid(max(total, 1), args.points)
    rows = []
    with Progress(total=len(caps) * len(args.policy), label="points", enabled=not args.quiet) as bar:
        for pol in args.policy:
            rows.extend(mrc(acc.ids, pol, caps, sizes=sizes, workers=args.workers,
                            on_point=lambda row: bar.advance()))
    if args.out:
        write_curve(rows, args.out)
    if args.html:
        from memsim.reports.export import write_figure
        written = write_figure(figure(rows, title=f"Miss-ratio curve: {args.trace}",
                                      capacity_unit=_capacity_unit(args)), args.html,
                               plotly_js=args.plotly_js, image_format=args.image_format)
        images = [str(p) for p in written[1:]]
    if args.json:
        for r in rows:
            print_json(r)
    elif not args.out or args.html:
        print(table(["policy", "capacity", "hits", "hit_ratio", "miss_ratio"],
                    [[r["policy"], r["capacity"], r["hits"], f"{r['hit_ratio']:.4f}",
                      f"{r['miss_ratio']:.4f}"] for r in rows]))
    for path in (args.out, args.html, *(images if args.html else [])):
        if path:
            print(f"  wrote {path}")
    return 0


def register(sub) -> None:
    p = add_command(sub, "mrc", help="miss-ratio curve: hit ratio over a grid of capacities "
                    "(LRU in one pass of stack distances, others by parallel replay)",
                    example="memsim mrc trace.txt --format ids --policy lru --policy s3fifo "
                            "--points 20 --out mrc.csv --html mrc.html", func=_mrc)
    add_trace_args(p)
    p.add_argument("--policy", action="append", metavar="NAME",
                   help="eviction policy (repeatable; default lru)")
    p.add_argument("--capacities", nargs="+", metavar="N",
                   help="capacities (space- or comma-separated)")
    p.add_argument("--points", type=count(1, 10_000), default=20,
                   help="log-spaced capacities up to the working set (default 20)")
    p.add_argument("--workers", type=count(1, MAX_WORKERS), metavar="N",
                   help="parallel replays (default: one per core)")
    p.add_argument("--out", metavar="FILE", help="write the curve as .csv or .json")
    p.add_argument("--html", metavar="FILE", help="write a plotly figure (self-contained HTML)")
    p.add_argument("--json", action="store_true", help="one JSON object per point")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_figure_args(p)

    def _defaulted(args, _f=_mrc):
        from memsim.policies.arguments import MAX_CAPACITIES
        if not args.policy:
            args.policy = ["lru"]
        if not 1 <= args.points <= MAX_CAPACITIES:
            raise ConfigError(f"--points {args.points} must be in 1..{MAX_CAPACITIES:,}", field="--points")
        if args.workers is not None and args.workers < 1:
            raise ConfigError(f"--workers {args.workers} must be >= 1", field="--workers")
        return _f(args)
    p.set_defaults(func=_defaulted)
