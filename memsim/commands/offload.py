"""``memsim offload``: FlexGen-style throughput of a batch with weights/KV/activations offloaded."""
from __future__ import annotations

from ._common import add_command, print_json
from ._table import table


def register(sub) -> None:
    p = add_command(
        sub, "offload",
        help="throughput of a batch with weights, KV cache and activations split over "
             "GPU/CPU/disk (FlexGen); --search finds the best split",
        example="memsim offload --hw rtx4090 --model opt-30b --batch 64 --prompt-len 512 "
                "--gen-len 32 --search",
        func=_run)
    p.add_argument("scenario", nargs="?", metavar="SCENARIO.yaml",
                   help="a kind: offload scenario file (instead of the flags below)")
    p.add_argument("--hw", help="platform name or YAML path (needs hbm, dram and ssd tiers)")
    p.add_argument("--model", help="catalogue model name or YAML path")
    p.add_argument("--batch", type=int, help="sequences in the batch (the zig-zag block)")
    p.add_argument("--prompt-len", type=int, help="prompt tokens per sequence")
    p.add_argument("--gen-len", type=int, help="generated tokens per sequence")
    p.add_argument("--search", action="store_true",
                   help="search (LP) for the placement with the best throughput")
    for t in ("weights", "kv", "activations"):
        p.add_argument(f"--{t}", metavar="G,C,D",
                       help=f"fractions of the {t} on GPU, CPU, disk (default 1,0,0)")
    p.add_argument("--gpu-batches", type=int, help="GPU batches per block (default 1)")
    p.add_argument("--gpu-mem", metavar="SIZE", help="GPU memory limit (default: one GPU's HBM)")
    p.add_argument("--cpu-mem", metavar="SIZE", help="CPU memory limit (default: the host DRAM)")
    p.add_argument("--disk", metavar="SIZE", help="disk limit (default: one SSD)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


_FLAGS = {"hw": "platform", "model": "model", "batch": "batch", "prompt_len": "prompt_len",
          "gen_len": "gen_len", "gpu_mem": "gpu_memory", "cpu_mem": "cpu_memory", "disk": "disk"}
_PLACE = ("weights", "kv", "activations", "gpu_batches")


def _fractions(flag: str, text: str) -> list[float]:
    from memsim.ground.errors import ConfigError
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3:
        raise ConfigError(f"{text!r} should be three fractions G,C,D like 0.5,0.5,0",
                          field=flag)
    return vals


def _scenario(args):
    from memsim.ground.errors import ConfigError
    from memsim.ground.schema import validate
    from memsim.sim.offload.scenario import OffloadScenario, load_scenario

    given = [k for k in (*_FLAGS, *_PLACE) if getattr(args, k) is not None] + \
        (["search"] if args.search else [])
    if args.scenario:
        if given:
            raise ConfigError(f"give a scenario file or flags, not both (got --"
                              f"{given[0].replace('_', '-')})", field="offload")
        sc = load_scenario(args.scenario)
        if sc.kind != "offload":
            raise ConfigError("not a kind: offload scenario (use memsim flash)",
                              file=args.scenario, field="kind")
        return sc
    missing = [f"--{k.replace('_', '-')}" for k in ("hw", "model", "batch", "prompt_len", "gen_len")
               if getattr(args, k) is None]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or give a scenario file)",
                          field="offload")
    data = {"kind": "offload", "search": args.search}
    data.update({dst: getattr(args, src) for src, dst in _FLAGS.items()
                 if getattr(args, src) is not None})
    place = {t: _fractions(f"--{t}", getattr(args, t)) for t in ("weights", "kv", "activations")
             if getattr(args, t) is not None}
    if args.gpu_batches is not None:
        place["num_gpu_batches"] = args.gpu_batches
    if place:
        if args.search:
            raise ConfigError("--search chooses the placement; drop --weights/--kv/"
                              "--activations/--gpu-batches", field="search")
        data["placement"] = place
    return validate(OffloadScenario, data)


def _run(args) -> int:
    from memsim.sim.offload.scenario import run_offload

    sc = _scenario(args)
    report(sc, run_offload(sc), as_json=args.json)
    return 0


def report(sc, r: dict, *, as_json: bool) -> None:
    """Print an offload scenario's result (lines, or one JSON object); ``memsim run``
    prints kind: offload scenarios through this too."""
    from memsim.ground.units import format_size, format_time

    if as_json:
        print_json(r)
        return
    how = "best placement (LP search)" if r["search"] else "placement"
    print(f"{r['model']} on one GPU of {r['platform']}: batch {r['batch']}, prompt "
          f"{r['prompt_len']}, generate {r['gen_len']}")
    print(f"  {how}: {r['policy']}")
    rows = [[t, *[f"{v:.3g}" if v >= 1e-6 else "0" for v in r["placement"][t]]]
            for t in ("weights", "kv", "activations")]
    print(table(["tensor", "gpu", "cpu", "disk"], rows, indent="    "))
    print(f"  throughput {r['throughput_tokens_per_s']:.4g} tokens/s; total {format_time(r['total_s'])}"
          f" (prefill {format_time(r['prefill_s'])}, bound by {r['prefill_bound']}; decode "
          f"{format_time(r['decode_s'])}, bound by {r['decode_bound']})")
    mem = ", ".join(f"{d} {format_size(r[f'{d}_bytes'])} of {format_size(r[f'{d}_capacity_bytes'])}"
                    for d in ("gpu", "cpu", "disk"))
    print(f"  memory: {mem}; fits: {'yes' if r['fits'] else 'NO'}")
