"""``memsim validate``: calibrate this host, time real kernels, compare with predictions;
or, with ``--kernels DIR --hw NAME``, score a hardware file's GPU kernel predictions."""
from __future__ import annotations

import sys
import time

from ._common import add_command, print_json


def register(sub) -> None:
    p = add_command(sub, "validate",
                    help="calibrate this machine's memory hierarchy, time real Numba kernels and "
                         "report the simulator's prediction error",
                    example="memsim validate --quick --out runs/validate\n"
                            "  memsim validate --kernels ../shared/gpu-kernels/h100_sxm --hw h100_sxm --json",
                    func=_run)
    p.add_argument("--kernels", default=None, metavar="DIR",
                   help="instead of the host: compare a GPU hardware file's kernel predictions with the "
                        "measured tables in DIR (kernel-profile format, docs/calibration.md); needs --hw")
    p.add_argument("--hw", default=None, metavar="NAME", help="platform for --kernels (shipped name or YAML)")
    p.add_argument("--no-tables", action="store_true",
                   help="with --kernels: time with the analytic model only, scored on the held-out split")
    p.add_argument("--json", action="store_true",
                   help="with --kernels: print only {hw, ops: {kind: {rows, median, p90}}}")
    p.add_argument("--quick", action="store_true",
                   help="fewer, smaller configurations (under 3 minutes on 2 cores)")
    p.add_argument("--cuda", action="store_true",
                   help="also time the CUDA kernels on this machine's GPU and append them to "
                        "validate/measurements/ (skipped with a note when there is no GPU)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder for host.yaml, calibration.json, validation.csv/.html "
                        "(default: runs/validate)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="timed runs per configuration; the minimum is the measurement, with the "
                        "median and the spread (max / min - 1) beside it (default 5 quick, 7 full)")
    p.add_argument("--calibrate-only", action="store_true",
                   help="only calibrate and write DIR/host.yaml")
    p.add_argument("--only", metavar="KERNELS", default=None,
                   help="comma-separated kernels to time (stream, pointer_chase, matmul_tiled, "
                        "attention_naive, attention_tiled, decode, paged_decode); default all")
    p.add_argument("--seed", type=int, default=0, help="seed of the kernels' random inputs")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _run(args) -> int:
    from pathlib import Path

    from memsim.ground.errors import ConfigError
    if args.kernels is not None or args.hw is not None:
        return _kernels(args)
    if args.no_tables or args.json:
        raise ConfigError("--no-tables and --json go with --kernels DIR --hw NAME", field="--kernels")
    args.out = args.out or "runs/validate"
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats={args.repeats} must be at least 1", field="--repeats")
    repeats = args.repeats or (5 if args.quick else 7)
    only = _only(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder", field="--out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create {out}: {e.strerror}", field="--out") from None

    import numpy as np

    import memsim.validate as validate
    say = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    say("memsim validate: calibrating this host (caches, bandwidth, latency, loop rates)...")
    cal = validate.calibrate(quick=args.quick, rng=np.random.default_rng(args.seed),
                             repeats=3)
    host = validate.write_host(cal, out)
    from memsim.hwmodels import load_platform
    load_platform(host)                      # the file we wrote must be a valid platform
    say(f"  wrote {host} ({time.perf_counter() - t0:.1f} s)")
    summary = {"host_yaml": str(host)}
    if args.calibrate_only:
        print_json(summary)
        return 0

    def progress(i, n, row):
        say(f"  [{i}/{n}] {row['kernel']:<16} {row['params']:<62} measured {row['measured_s']:.3g} s"
            f"  predicted {row['predicted_s']:.3g} s  ({row['rel_error'] * 100:+.0f}%)")
    df = validate.compare(validate.Predictor(cal), quick=args.quick, repeats=repeats,
                          seed=args.seed, progress=progress, only=only)
    csv = out / "validation.csv"
    df.to_csv(csv, index=False)
    summary.update(validate.summarize(df))
    if args.cuda:
        summary["cuda"] = _cuda(args, repeats, say)
    gpu = validate.compare_stored()
    summary["stored_gpu_rows"] = int(len(gpu))
    command = "memsim validate" + (" --quick" if args.quick else "") + (" --cuda" if args.cuda else "") \
        + (f" --only {args.only}" if args.only else "") + f" --repeats {repeats} --out {args.out}"
    html = validate.write_report(out / "validation.html", df, cal, summary, command=command, gpu=gpu)
    summary.update({"csv": str(csv), "html": str(html),
                    "wall_s": round(time.perf_counter() - t0, 1)})
    print_json(summary)
    return 0


def _kernels(args) -> int:
    import json
    from pathlib import Path

    from memsim.ground.errors import ConfigError
    from memsim.validate import kernelcheck
    if args.kernels is None or args.hw is None:
        raise ConfigError("--kernels DIR and --hw NAME go together", field="--kernels" if args.kernels is None
                          else "--hw")
    report, frames = kernelcheck.check_kernels(args.kernels, args.hw, no_tables=args.no_tables)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
        kernelcheck.write_plot(out / "kernels.html", frames,
                               f"{report['hw']}: predicted vs measured ({report['timing']})")
        report["html"] = str(out / "kernels.html")
    if args.json:
        print_json({"hw": report["hw"], "ops": {k: {m: v[m] for m in ("rows", "median_abs_rel_error",
                                                                    "p90_abs_rel_error")}
                                                for k, v in report["ops"].items()}})
        return 0
    if not args.quiet:
        for kind, v in report["ops"].items():
            print(f"  {kind:<22} rows {v['rows']:>6}  median {v['median_abs_rel_error'] * 100:5.1f}%  "
                  f"p90 {v['p90_abs_rel_error'] * 100:5.1f}%  (analytic rows {v['analytic_rows']})",
                  file=sys.stderr)
        aff = report.get("engine_decode_affine")
        if aff:
            print(f"  decode attention as the engine's affine a(n) + b(n) S: rows {aff['rows']}, median "
                  f"{aff['median_abs_rel_error'] * 100:.1f}%, p90 {aff['p90_abs_rel_error'] * 100:.1f}%",
                  file=sys.stderr)
    print_json(report)
    return 0


def _only(args):
    """The cases ``--only`` keeps (None = all); an unknown kernel name is a ConfigError."""
    if args.only is None:
        return None
    import difflib

    import memsim.validate as validate
    from memsim.ground.errors import ConfigError
    all_cases = validate.cases(quick=args.quick)
    known = list(dict.fromkeys(c.kernel for c in all_cases))
    wanted = [k.strip() for k in args.only.split(",") if k.strip()]
    for k in wanted:
        if k not in known:
            close = difflib.get_close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown kernel {k!r}{hint}; known: {', '.join(known)}", field="--only")
    if not wanted:
        raise ConfigError("no kernel named", field="--only")
    return [c for c in all_cases if c.kernel in wanted]


def _cuda(args, repeats, say) -> str:
    from pathlib import Path

    from memsim.validate.kernels.cuda_attention import cuda_ready, simulator_active
    if simulator_active():
        say("memsim validate: --cuda: NUMBA_ENABLE_CUDASIM=1 is set (the CUDA simulator); "
            "its timings are meaningless, CUDA timing skipped")
        return "skipped: CUDA simulator active"
    if not cuda_ready():
        say("memsim validate: --cuda: no CUDA GPU here (numba.cuda.is_available() is False); "
            "CUDA timing skipped")
        return "skipped: no CUDA GPU"
    from memsim.validate.gpu import append_measurements, measure
    say("memsim validate: timing the CUDA kernels (CUDA events)...")
    df = measure(quick=args.quick, repeats=repeats, seed=args.seed)
    df.to_csv(Path(args.out) / "gpu_measurements.csv", index=False)    # kept even if the append fails
    try:
        path = append_measurements(df)
    except OSError as e:
        from memsim.ground.errors import ConfigError
        raise ConfigError(f"cannot store GPU measurements: {e}; run from a source checkout "
                          "(validate/measurements/ must be writable)", field="--cuda") from None
    say(f"  appended {len(df)} rows to {path}")
    return str(path)
