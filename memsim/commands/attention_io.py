"""``memsim attention-io``: an attention algorithm's SRAM <-> HBM traffic, bound and time.

One configuration prints reads, writes, I/O, lower bound and ratio (and, with
``--hw``, the predicted time); ``--sweep`` writes the I/O-vs-M figure or its data.
"""
from __future__ import annotations

import sys

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json
from ._figures import add_figure_args, check_figure_args
from ._numbers import MAX_TOKENS, count

DTYPE_BYTES = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1}
ALGO_CHOICES = ("naive", "flash1", "flash2", "small-m", "small_m", "chunked", "decode",
                "decode-paged", "decode_paged", "auto")
SWEEP_ALGOS = ("naive", "flash1", "flash2", "small_m", "chunked")


def register(sub) -> None:
    p = add_command(sub, "attention-io",
                    help="I/O of an attention algorithm between SRAM (M elements) and HBM",
                    example="memsim attention-io --n 4096 --d 128 --sram '192 KiB' --algo flash2 "
                            "--hw h100_sxm --json",
                    func=run)
    p.add_argument("--n", type=count(1, MAX_TOKENS), help="sequence length (KV length for decode)")
    p.add_argument("--d", type=count(1, 65536), help="head dimension")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sram", help="fast memory of one SM as a size, e.g. '192 KiB'")
    g.add_argument("--sram-elems", type=count(1, 2**40), help="fast memory of one SM in elements")
    p.add_argument("--heads", type=count(1, 65536), default=1, help="attention heads (counts multiply)")
    p.add_argument("--batch", type=count(1, MAX_TOKENS), default=1, help="sequences (counts multiply)")
    p.add_argument("--dtype", default="bf16", help=f"element type: {', '.join(DTYPE_BYTES)}")
    p.add_argument("--algo", help=f"one of {', '.join(ALGO_CHOICES)} (default flash2; "
                   "with --sweep, all of naive, flash1, flash2, small-m, chunked)")
    p.add_argument("--block-rows", type=count(1, MAX_TOKENS), help="rows of a Q block (flash, naive), query chunk (chunked), "
                   "A tile side (small-m)")
    p.add_argument("--block-cols", type=count(1, MAX_TOKENS), help="rows of a K/V block (flash, naive), key chunk (chunked), inner "
                   "chunk (small-m), KV tile or tokens per KV block (decode, decode-paged)")
    p.add_argument("--hw", help="platform name (hwmodels) for the predicted time")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--sweep", action="store_true", help="I/O vs M (4d to 4nd, powers of two; n defaults to 4096, "
                   "d to 64) for all algorithms, with the lower bound")
    p.add_argument("--out", help="with --sweep: write .html (figure) or .csv (data)")
    add_figure_args(p, where="beside --out FILE.html (with --sweep)")


def _positive(name: str, v):
    if v is not None and v < 1:
        raise ConfigError(f"--{name}={v} must be a positive integer", field=f"--{name}")
    return v


def _sram_elems(args, dtype_bytes, platform) -> int:
    from memsim.ground.units import parse_size
    if args.sram_elems is not None:
        return _positive("sram-elems", args.sram_elems)
    if args.sram is not None:
        b = parse_size(args.sram, field="--sram")
        if b < dtype_bytes:
            raise ConfigError(f"--sram={args.sram!r} holds no {args.dtype} element", field="--sram")
        return b // dtype_bytes
    if platform is not None:
        return platform.compute.sram_per_sm // dtype_bytes
    raise ConfigError("give --sram SIZE, --sram-elems N or --hw NAME", field="--sram")


def run(args) -> int:
    from memsim.sim.kernel import attention_io, auto, machine_from_platform, predict_time, sweep

    if args.dtype not in DTYPE_BYTES:
        raise ConfigError(f"unknown dtype {args.dtype!r}; known: {', '.join(DTYPE_BYTES)}",
                          field="--dtype")
    dtype_bytes = DTYPE_BYTES[args.dtype]
    if args.algo is not None and args.algo not in ALGO_CHOICES:
        raise ConfigError(f"unknown algorithm {args.algo!r}; known: {', '.join(ALGO_CHOICES)}",
                          field="--algo")
    for name in ("n", "d", "heads", "batch", "block_rows", "block_cols"):
        _positive(name.replace("_", "-"), getattr(args, name))
    platform = None
    if args.hw:
        from memsim.hwmodels import load_platform
        platform = load_platform(args.hw)

    if args.sweep:
        return _run_sweep(args, dtype_bytes, sweep)
    if args.out:
        raise ConfigError("--out goes with --sweep", field="--out")
    if args.image_format:
        raise ConfigError("goes with --sweep --out FILE.html", field="--image-format")
    if args.n is None or args.d is None:
        raise ConfigError("--n and --d are required", field="--n" if args.n is None else "--d")
    m = _sram_elems(args, dtype_bytes, platform)
    common = dict(n=args.n, d=args.d, sram_elems=m, heads=args.heads, batch=args.batch,
                  dtype_bytes=dtype_bytes)
    t = None
    algo = args.algo or "flash2"
    if algo == "auto":
        mach = machine_from_platform(platform, dtype=args.dtype) if platform else None
        r, t = auto(**common, machine=mach)
    else:
        r = attention_io(algo, block_rows=args.block_rows, block_cols=args.block_cols,
                         **common)
        if platform is not None:
            t = predict_time(r, platform=platform, dtype=args.dtype)
    out = r.to_dict()
    if platform is not None:
        out["hw"] = args.hw
        out["predicted_time_s"] = t
    if args.json:
        print_json(out)
    else:
        width = max(len(k) for k in out)
        for k, v in out.items():
            sys.stdout.write(f"{k.ljust(width)}  {v:.6g}\n" if isinstance(v, float)
                             else f"{k.ljust(width)}  {v}\n")
    return 0


def _run_sweep(args, dtype_bytes, sweep) -> int:
    n = args.n or 4096
    d = args.d or 64
    lo, hi = 4 * d, 4 * n * d
    ms, m = [], 1
    while m <= hi:
        if m >= lo:
            ms.append(m)
        m *= 2
    if args.algo in ("decode", "decode-paged", "decode_paged", "auto"):
        raise ConfigError(f"--sweep compares self-attention algorithms, not {args.algo!r}",
                          field="--algo")
    algos = SWEEP_ALGOS if args.algo is None else (args.algo.replace("-", "_"),)
    check_figure_args(args)
    if args.image_format and not (args.out or "").endswith(".html"):
        raise ConfigError("writes the figure beside --out FILE.html; give one",
                          field="--image-format")
    if args.out is not None and not args.out.endswith((".csv", ".html")):
        raise ConfigError(f"--out {args.out!r}: expected a .html or .csv file", field="--out")
    from memsim.ground.files import atomic_write_text, check_output
    check_output(args.out, "file", flag="--out")
    df = sweep(n, d, ms, algos, heads=args.heads, batch=args.batch, dtype_bytes=dtype_bytes)
    if args.out is None:
        df.to_csv(sys.stdout, index=False)
    elif args.out.endswith(".csv"):
        atomic_write_text(args.out, df.to_csv(index=False))
    elif args.out.endswith(".html"):
        from memsim.reports.export import write_figure
        from memsim.reports.figures_attention import attention_io_figure
        for path in write_figure(attention_io_figure(df), args.out, plotly_js=args.plotly_js,
                                 image_format=args.image_format)[1:]:
            print(f"  wrote {path}")
    else:
        raise ConfigError(f"--out {args.out!r}: expected a .html or .csv file", field="--out")
    return 0
