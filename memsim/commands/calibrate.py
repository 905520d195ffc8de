"""``memsim calibrate``: fit a GPU's analytic kernel model to measured kernel tables."""
from __future__ import annotations

import sys

from ._common import add_command, print_json


def register(sub) -> None:
    p = add_command(sub, "calibrate",
                    help="fit a platform's analytic kernel model (launch latency + roofline with tile, "
                         "wave and memory efficiency) to measured kernel tables and write the calibrated "
                         "hardware file; prints train and held-out errors",
                    example="memsim calibrate --kernels ../shared/gpu-kernels/h100_sxm --hw h100_sxm "
                            "--out my_h100.yaml",
                    func=_run)
    p.add_argument("--kernels", required=True, metavar="DIR",
                   help="kernel-profile folder (gemm/context_attention/generation_attention/all_reduce "
                        ".parquet or .csv; docs/calibration.md)")
    p.add_argument("--hw", required=True, metavar="NAME",
                   help="platform to calibrate: a shipped name or a hardware YAML")
    p.add_argument("--out", required=True, metavar="FILE.yaml", help="calibrated hardware file to write")
    p.add_argument("--attention-kernel", default=None, metavar="SOURCE",
                   help="the tables' kernel_source to use for attention (needed when they hold several "
                        "and the hardware file names none)")
    p.add_argument("--pack", default=None, metavar="DIR",
                   help="also write compact copies of the tables to DIR and point the file at them")
    p.add_argument("--quiet", action="store_true", help="no table on stderr")


def _run(args) -> int:
    from memsim.ground.files import check_output
    from memsim.validate import kernelcal
    check_output(args.out, "file", flag="--out")          # before the fit runs
    check_output(args.pack, "dir", flag="--pack", markers=tuple(f"{k}.parquet" for k in (
        "gemm", "context_attention", "generation_attention", "all_reduce")))
    rep = kernelcal.calibrate(args.kernels, args.hw, args.out, attention_kernel=args.attention_kernel,
                              pack=args.pack)
    if not args.quiet:
        df = kernelcal.scored_frame(rep)
        print(f"memsim calibrate: {rep['hw']} on {rep['kernels']} (attention kernel {rep['attention_kernel']})",
              file=sys.stderr)
        print(df.to_string(index=False, float_format=lambda x: f"{x:.3f}"), file=sys.stderr)
    print_json(rep)
    return 0
