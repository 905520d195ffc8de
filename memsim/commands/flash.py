"""``memsim flash``: per-token latency when FFN weights stream from flash (LLM in a flash)."""
from __future__ import annotations

from ._common import add_command, print_json
from ._table import table

ALL_POLICIES = ("naive", "bundling", "windowing", "windowing_bundling")
WINDOWED = ("windowing", "windowing_bundling")


def register(sub) -> None:
    p = add_command(
        sub, "flash",
        help="simulate streaming FFN weights from flash per token (LLM in a flash policies)",
        example="memsim flash --hw laptop_flash --model opt-6.7b --policy windowing_bundling "
                "--window 5",
        func=_run)
    p.add_argument("scenario", nargs="?", metavar="SCENARIO.yaml",
                   help="a kind: flash scenario file (instead of the flags below)")
    p.add_argument("--hw", help="platform name or YAML path (default laptop_flash)")
    p.add_argument("--model", help="catalogue model name or YAML path (default opt-6.7b)")
    p.add_argument("--policy", help="flash policy, or a comma list (default windowing_bundling); "
                   f"built-ins: {', '.join(ALL_POLICIES)}")
    p.add_argument("--compare", action="store_true", help="run all four built-in policies")
    p.add_argument("--window", type=int, help="window in tokens for windowing policies (default 5)")
    p.add_argument("--activation-rate", type=float,
                   help="fraction of FFN neurons active per token (default 0.1)")
    p.add_argument("--correlation", type=float,
                   help="P(an active neuron stays active next token) (default 0.7)")
    p.add_argument("--trace", metavar="PATH",
                   help=".npy/.npz bool array [tokens, layers, neurons] instead of the synthetic trace")
    p.add_argument("--tokens", type=int, help="tokens to generate (default 64)")
    p.add_argument("--seed", type=int, help="seed of the synthetic trace (default 0)")
    p.add_argument("--dram", metavar="SIZE", help='DRAM the model may use, e.g. "7 GB"')
    p.add_argument("--dram-fraction", type=float,
                   help="DRAM budget as a fraction of the weights (default 0.5, as in the paper)")
    p.add_argument("--queue-depth", type=int,
                   help="flash reads in flight (default: the flash tier's parallelism)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


_FLAGS = {"hw": "platform", "model": "model", "tokens": "tokens", "seed": "seed",
          "trace": "trace", "dram": "dram", "dram_fraction": "dram_fraction",
          "queue_depth": "queue_depth"}


def _scenario(args):
    from memsim.ground.errors import ConfigError
    from memsim.ground.schema import validate
    from memsim.sim.offload.scenario import FlashScenario, load_scenario

    given = [k for k in (*_FLAGS, "policy", "window", "activation_rate", "correlation")
             if getattr(args, k) is not None] + (["compare"] if args.compare else [])
    if args.scenario:
        if given:
            raise ConfigError(f"give a scenario file or flags, not both (got --"
                              f"{given[0].replace('_', '-')})", field="flash")
        sc = load_scenario(args.scenario)
        if sc.kind != "flash":
            raise ConfigError("not a kind: flash scenario (use memsim offload)",
                              file=args.scenario, field="kind")
        return sc
    data = {"kind": "flash", "platform": "laptop_flash", "model": "opt-6.7b"}
    data.update({dst: getattr(args, src) for src, dst in _FLAGS.items()
                 if getattr(args, src) is not None})
    if args.compare and args.policy:
        raise ConfigError("give --policy or --compare, not both", field="policy")
    names = list(ALL_POLICIES) if args.compare else \
        [s.strip() for s in (args.policy or "windowing_bundling").split(",") if s.strip()]
    if not names:
        raise ConfigError("--policy is empty", field="policy")
    if args.window is not None and not any(n in WINDOWED for n in names):
        raise ConfigError("--window applies only to windowing and windowing_bundling",
                          field="window")
    if "naive" not in names:
        names.insert(0, "naive")                      # the baseline speedups are quoted against
    data["policies"] = [{"name": n, "window": args.window}
                        if n in WINDOWED and args.window is not None else n for n in names]
    acts = {k: v for k, v in (("activation_rate", args.activation_rate),
                              ("correlation", args.correlation)) if v is not None}
    if acts:
        if args.trace:
            raise ConfigError("--trace replaces the synthetic trace; drop --activation-rate/"
                              "--correlation", field="trace")
        data["activations"] = acts
    return validate(FlashScenario, data, prefix=None)


def _run(args) -> int:
    from memsim.sim.offload.scenario import run_flash

    sc = _scenario(args)
    report(sc, run_flash(sc), as_json=args.json)
    return 0


def report(sc, runs, *, as_json: bool) -> None:
    """Print the runs of a flash scenario (a table, or one JSON object); ``memsim run``
    prints kind: flash scenarios through this too."""
    from memsim.ground.units import format_bandwidth, format_size, format_time

    base = next((r for r in runs if r.policy == "naive"), None)
    speed = {r.summary["policy_repr"]: (base.summary["latency_s"] / r.summary["latency_s"]
                                        if base else None) for r in runs}
    if as_json:
        print_json({"scenario": sc.model_dump(mode="json"),
                    "runs": [{**r.summary, "speedup_vs_naive": speed[r.summary["policy_repr"]]}
                             for r in runs]})
        return
    s0 = runs[0].summary
    print(f"{s0['model']} on {s0['platform']}: weights {format_size(s0['weight_bytes'])} "
          f"({s0['weights_over_dram']:.2f}x the DRAM budget of "
          f"{format_size(s0['dram_budget_bytes'])}), {s0['tokens']} tokens, "
          f"queue depth {s0['queue_depth']}; means over tokens {s0['tokens'] - s0['steady_tokens']}+")
    rows = []
    for r in runs:
        s = r.summary
        rows.append([s["policy_repr"], format_time(s["latency_s"]), format_time(s["io_s"]),
                     format_time(s["compute_s"]), format_time(s["mgmt_s"]),
                     format_size(s["flash_bytes_per_token"]), format_size(s["mean_read_bytes"]),
                     format_bandwidth(s["flash_bytes_per_s"]),
                     format_size(s["peak_dram_bytes"]), "yes" if s["fits"] else "NO",
                     f"{speed[s['policy_repr']]:.2f}x" if base else "-"])
    print(table(["policy", "latency/token", "flash I/O", "compute", "DRAM mgmt", "flash/token",
                 "read size", "flash bw", "peak DRAM", "fits", "vs naive"], rows))
