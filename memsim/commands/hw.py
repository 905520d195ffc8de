"""``memsim hw list|show``: the shipped hardware platforms, as tables or JSON."""
from __future__ import annotations

from memsim.ground.errors import ConfigError
from memsim.ground.units import format_bandwidth, format_size, format_time

from ._common import add_command, print_json
from ._table import format_flops, table


def register(sub) -> None:
    p = add_command(sub, "hw", help="list or show hardware platforms (hwmodels/*.yaml)",
                    example="memsim hw show h100_sxm", func=_need_sub)
    hs = p.add_subparsers(dest="hw_command", metavar="SUBCOMMAND", parser_class=type(p))
    ls = add_command(hs, "list", help="list the shipped platforms",
                     example="memsim hw list --json", func=_list)
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    sh = add_command(hs, "show", help="show one platform: compute, tiers and links",
                     example="memsim hw show hwmodels/h100_sxm.yaml", func=_show)
    sh.add_argument("platform", metavar="NAME|PATH", help="shipped name or path to a YAML file")
    sh.add_argument("--json", action="store_true", help="print the platform as JSON (SI units)")


def _need_sub(args) -> int:
    raise ConfigError("choose a subcommand: list, show (see memsim hw --help)", field="hw")


def _list(args) -> int:
    from memsim.hwmodels import list_platforms
    items = list_platforms()
    if args.json:
        print_json({"platforms": [{"name": n, "description": d} for n, d in items]})
        return 0
    print(table(["name", "description"], [[n, d] for n, d in items], indent=""))
    return 0


def _show(args) -> int:
    from memsim.hwmodels import load_platform
    p = load_platform(args.platform)
    if args.json:
        print_json({**p.model_dump(mode="json"), "derived": p.derived()})
        return 0
    print(render(p))
    return 0


def render(p) -> str:
    """The human-readable view of a platform."""
    c = p.compute
    out = [f"{p.name}: {p.description}", f"source: {p.source}", "",
           f"compute: {c.count} x {c.name}",
           "  peak (dense, per device): " + ", ".join(f"{k} {format_flops(v)}"
                                                     for k, v in c.peak_flops.items()),
           (f"  SMs {c.sm_count}, SRAM/SM {format_size(c.sram_per_sm)} "
            f"(total {format_size(c.sram_total)}), L2 {format_size(c.l2)}, "
            f"clock {c.clock / 1e9:.4g} GHz"),
           (f"  efficiency: gemm {c.efficiency.gemm:g}, attention {c.efficiency.attention:g}, "
            f"memory {c.efficiency.memory:g}; "
            f"iteration overhead {format_time(c.iteration_overhead)}"),
           f"  source: {c.source}", "", "tiers (nearest compute first; per instance):"]
    rows = [[t.name, t.kind, format_size(t.capacity), str(t.count), format_bandwidth(t.read_bw),
             format_bandwidth(t.write_bw), format_time(t.latency), format_size(t.granularity),
             str(t.parallelism), f"{len(t.bw_curve)} pts" if t.bw_curve else "-"]
            for t in p.tiers]
    out.append(table(["name", "kind", "capacity", "count", "read", "write", "latency",
                      "granularity", "parallelism", "bw_curve"], rows))
    if p.links:
        out += ["", "links (bandwidth per direction, per instance):"]
        rows = [[link.name, " <-> ".join(link.between), format_bandwidth(link.bandwidth),
                 format_time(link.latency), link.duplex, str(link.count)] for link in p.links]
        out.append(table(["name", "between", "bandwidth", "latency", "duplex", "count"], rows))
    for t in p.tiers:
        if t.bw_curve:
            out += ["", f"{t.name} read bandwidth vs request size (rows: queue depth):", _curve(t)]
    out += ["", "sources:"] + [f"  {t.name}: {t.source}" for t in p.tiers] \
        + [f"  {link.name}: {link.source}" for link in p.links]
    return "\n".join(out)


def _curve(t) -> str:
    sizes = sorted({pt.request_size for pt in t.bw_curve})
    qds = sorted({pt.queue_depth for pt in t.bw_curve})
    rows = [[f"qd {q}"] + [format_bandwidth(t.bandwidth_at(s, q)) for s in sizes] for q in qds]
    return table(["size"] + [format_size(s) for s in sizes], rows)
