"""``memsim replay``: hit ratios of eviction policies on an access trace, at native speed."""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json
from ._table import table

FORMATS = ("mooncake", "ids", "oracle", "csv")


def parse_capacity(text: str, unit: str) -> int:
    """An integer count of blocks/bytes; with ``bytes`` also a size like ``64 GiB``."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        if unit != "bytes":
            raise ConfigError(f"capacity {text!r} must be an integer number of blocks",
                              field="--capacity") from None
        from memsim.ground.units import parse_size
        value = parse_size(text, field="--capacity")
    if not 0 < value < 2**63:
        raise ConfigError(f"capacity {text!r} must be in 1..2**63-1", field="--capacity")
    return value


def no_repeats(flag: str, given: list[str], values: list) -> None:
    """The same value twice in a repeated flag is a slip (the row would print twice): refuse it."""
    seen: dict = {}
    for text, v in zip(given, values):
        if v in seen:
            raise ConfigError(f"{text!r} is given twice (as {seen[v]!r} and {text!r}); give each "
                              "value once", field=flag)
        seen[v] = text


def load_trace(args):
    """Read TRACE per --format/--*-column and return (accesses, sizes or None)."""
    from memsim.workloads.accesses import read_accesses
    acc = read_accesses(args.trace, format=args.format, id_column=args.id_column,
                        size_column=args.size_column, time_column=args.time_column)
    sizes = None
    if args.capacity_unit == "bytes":
        if acc.sizes is None:
            raise ConfigError(f"{args.trace}: a {args.format} trace has no object sizes; use "
                              "--capacity-unit blocks (or --size-column for csv)",
                              field="--capacity-unit")
        sizes = acc.sizes
    return acc, sizes


def _needs_times(args) -> bool:
    """Access times matter only to a ttl policy and to the Python path (its ``now_s``)."""
    if args.engine == "python" or args.admission is not None:
        return True
    from memsim.policies import registry
    from memsim.policies.fast import kernel_for
    for spec in args.policy:
        pol = registry.create("eviction", spec, capacity=1)
        if kernel_for(pol) is None or getattr(pol, "name", "") == "ttl":
            return True
    return False


def add_trace_args(p) -> None:
    p.add_argument("trace", metavar="TRACE", help="access trace file")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="mooncake: hash_ids of each JSONL row, one block each; ids: one "
                        "integer per line; oracle: libCacheSim oracleGeneral binary; csv: "
                        "named columns")
    p.add_argument("--capacity-unit", choices=("blocks", "bytes"), default="blocks",
                   help="blocks: every access is one unit (default); bytes: use the "
                        "trace's object sizes")
    p.add_argument("--id-column", metavar="NAME", help="csv: id column (default 'id')")
    p.add_argument("--size-column", metavar="NAME", help="csv: object size column")
    p.add_argument("--time-column", metavar="NAME", help="csv: time column (seconds)")


def _replay(args) -> int:
    from memsim.ground.progress import Progress
    from memsim.policies.replay import prepare_sequence, replay
    caps = [parse_capacity(c, args.capacity_unit) for c in args.capacity]   # before the trace
    no_repeats("--capacity", args.capacity, caps)
    no_repeats("--policy", args.policy, args.policy)
    acc, sizes = load_trace(args)
    prepared = prepare_sequence(acc.ids, sizes)
    acc.ids = sizes = None          # the dense copy is what runs: hold the trace once, not twice
    if not _needs_times(args):
        acc.times_s = None
    rows = []
    # a grid of replays over a long trace (or the Python path) runs for minutes: show it
    with Progress(total=len(caps) * len(args.policy), label="replays", enabled=not args.quiet) as bar:
        for pol in args.policy:
            for cap in caps:
                r = replay(None, pol, cap, admission=args.admission, engine=args.engine,
                           times_s=acc.times_s, prepared=prepared)
                row = r.row()
                if args.json:
                    print_json(row)
                rows.append(row)
                bar.advance()
    if not args.json:
        head = ["policy", "capacity", "accesses", "hits", "hit_ratio", "seconds",
                "accesses/s", "engine"]
        body = [[r["policy"], r["capacity"], r["accesses"], r["hits"], f"{r['hit_ratio']:.4f}",
                 f"{r['seconds']:.3f}", f"{r['accesses_per_s']:.3g}", r["engine"]] for r in rows]
        print(table(head, body))
    return 0


def register(sub) -> None:
    p = add_command(sub, "replay", help="replay an access trace through eviction policies "
                    "and print hit ratios (Numba fast path for built-ins)",
                    example="memsim replay ../shared/traces/mooncake_conversation/"
                            "conversation_trace.jsonl --format mooncake --policy lru "
                            "--policy s3fifo --capacity 10000 --json", func=_replay)
    add_trace_args(p)
    p.add_argument("--policy", action="append", required=True, metavar="NAME",
                   help="eviction policy name (see memsim policies) or pkg.module:Class; "
                        "repeat for a grid")
    p.add_argument("--capacity", action="append", required=True, metavar="N",
                   help="cache size in --capacity-unit; repeat for a grid")
    p.add_argument("--admission", metavar="NAME", help="admission filter (default: always)")
    p.add_argument("--engine", choices=("fast", "python"), default="fast",
                   help="fast: Numba kernel where one exists (default); python: the "
                        "Protocol path the simulator uses")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per (policy, capacity)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
