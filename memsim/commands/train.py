"""``memsim train``: memory per tier and simulated step time of one training step.

A ``kind: train`` scenario file, flags, or both (flags override the file's fields).
``--search`` finds the fastest plan that fits; ``--fit`` lists, per strategy, the
largest model and the longest sequence that fit.
"""
from __future__ import annotations

from ._common import add_command, print_json
from ._table import format_count, table

_FIELDS = {"hw": "platform", "model": "model", "global_batch": "global_batch",
           "micro_batch": "micro_batch", "seq_len": "seq_len", "attention": "attention",
           "activation_offload": "activation_offload"}
_PAR = {"dp": "dp", "tp": "tp", "pp": "pp", "zero": "zero_stage", "schedule": "schedule"}
_STATES = ("params", "grads", "optimizer", "activations")


def register(sub) -> None:
    p = add_command(
        sub, "train",
        help="memory per tier and state class, and simulated step time, of one training step "
             "(ZeRO stages, CPU/NVMe/CXL offload, checkpointing, pipelines); --search finds the "
             "fastest plan that fits",
        example="memsim train scenarios/train-llama8b-8xh100.yaml --search",
        func=_run)
    p.add_argument("scenario", nargs="?", metavar="SCENARIO.yaml", help="a kind: train scenario file")
    p.add_argument("--hw", help="platform name or YAML path")
    p.add_argument("--model", help="catalogue model name or YAML path")
    p.add_argument("--global-batch", type=int, help="sequences per optimizer step")
    p.add_argument("--micro-batch", type=int, help="sequences per accelerator per micro-step")
    p.add_argument("--seq-len", type=int, help="tokens per sequence")
    p.add_argument("--dp", type=int, help="data-parallel degree (default: the rest of the node)")
    p.add_argument("--tp", type=int, help="tensor-parallel degree")
    p.add_argument("--pp", type=int, help="pipeline stages")
    p.add_argument("--zero", type=int, choices=(0, 1, 2, 3), help="ZeRO stage")
    p.add_argument("--schedule", choices=("1f1b", "gpipe"), help="pipeline schedule")
    p.add_argument("--checkpointing", metavar="SCHEME",
                   help="none, full, selective, sqrt, or every=K")
    p.add_argument("--attention", choices=("flash", "eager"), help="attention kernel")
    for s in _STATES:
        p.add_argument(f"--{s}", metavar="TIER[=F,...]",
                       help=f"where {s} live: a tier, or fractions like hbm=0.5,dram=0.5")
    p.add_argument("--activation-offload", choices=("uniform", "selective"),
                   help="apply --activations on every pipeline stage (uniform) or, as PipeOffload does, "
                        "to the micro-batches waiting for their backward (selective)")
    p.add_argument("--search", action="store_true",
                   help="find the fastest ZeRO stage x placement x checkpointing x micro-batch that fits")
    p.add_argument("--fit", action="store_true",
                   help="per strategy: does it fit, step time, largest model, longest sequence")
    p.add_argument("--report", metavar="OUT.html", help="write the HTML report of the step")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _placement(flag: str, text: str):
    from memsim.ground.errors import ConfigError
    if "=" not in text:
        return text
    out = {}
    for part in text.split(","):
        tier, _, frac = part.partition("=")
        try:
            out[tier.strip()] = float(frac)
        except ValueError:
            raise ConfigError(f"{text!r} should be TIER or TIER=F,TIER=F like hbm=0.5,dram=0.5",
                              field=flag) from None
    return out


def _checkpointing(text: str):
    if text.startswith("every="):
        from memsim.ground.errors import ConfigError
        try:
            return {"every": int(text[6:])}
        except ValueError:
            raise ConfigError(f"{text!r} should be every=K with K an integer",
                              field="--checkpointing") from None
    return text


def _scenario(args):
    from memsim.ground.errors import ConfigError
    from memsim.ground.schema import load_yaml, validate
    from memsim.sim.train.scenario import TrainScenario

    data = {}
    if args.scenario:
        data = load_yaml(args.scenario)
        if not isinstance(data, dict):
            raise ConfigError("expected a mapping at the top level", file=args.scenario)
        if data.get("kind") != "train":
            raise ConfigError(f"kind {data.get('kind')!r} is not train", file=args.scenario, field="kind")
    data.setdefault("kind", "train")
    data.update({dst: getattr(args, src) for src, dst in _FIELDS.items() if getattr(args, src) is not None})
    par = {dst: getattr(args, src) for src, dst in _PAR.items() if getattr(args, src) is not None}
    if par:
        data["parallelism"] = {**(data.get("parallelism") or {}), **par}
    place = {s: _placement(f"--{s}", getattr(args, s)) for s in _STATES if getattr(args, s) is not None}
    if place:
        data["placement"] = {**(data.get("placement") or {}), **place}
    if args.checkpointing is not None:
        data["checkpointing"] = _checkpointing(args.checkpointing)
    if args.search:
        data["search"] = True
    if not args.scenario:
        missing = [f"--{k.replace('_', '-')}" for k in ("hw", "model", "global_batch", "seq_len")
                   if getattr(args, k) is None]
        if missing:
            raise ConfigError(f"missing {', '.join(missing)} (or give a scenario file)", field="train")
    return validate(TrainScenario, data, file=args.scenario)


def _run(args) -> int:
    from memsim.ground.errors import ConfigError
    from memsim.ground.files import check_output
    check_output(args.report, "file", flag="--report")     # before the search runs
    sc = _scenario(args)
    if args.fit and sc.search:
        raise ConfigError("give --fit or --search, not both", field="fit")
    if args.fit:
        from memsim.sim.train.fit import fit_limits
        rows = fit_limits(sc)
        if args.json:
            print_json({"scenario": sc.model_dump(mode="json"), "strategies": rows})
        else:
            print(_fit_text(sc, rows))
        return 0
    from memsim.sim.train.layout import resolve
    from memsim.sim.train.result import evaluate
    from memsim.sim.train.search import search_plans
    search = search_plans(sc) if sc.search else None
    res = search.best if search else evaluate(resolve(sc))
    if args.report:
        from memsim.reports.train import render_train
        render_train(res, args.report)
    if args.json:
        out = res.to_dict()
        if search:
            out["candidates"] = search.table
        print_json(out)
        return 0
    print(_result_text(res))
    if args.report:
        print(f"  report written to {args.report}")
    return 0


def report(scen, res, *, as_json: bool) -> None:
    """How ``memsim run`` prints a kind: train result (as ``memsim train`` does)."""
    if as_json:
        print_json(res.to_dict())
    else:
        print(_result_text(res))


def _gib(n) -> str:
    from memsim.ground.units import format_size
    return format_size(n) if n else "0"


def _result_text(res) -> str:
    from memsim.ground.units import format_time
    s = res.summary
    lines = [f"{s['model']} ({format_count(s['params_total'])} params) on {s['platform']}: {s['gpus']} "
             f"accelerators (dp {s['dp']}, tp {s['tp']}, pp {s['pp']}), ZeRO-{s['zero_stage']}, "
             f"checkpointing {s['checkpointing']}",
             f"  batch: {s['global_batch']} sequences x {s['seq_len']} tokens (micro-batch "
             f"{s['micro_batch']}, {s['grad_accum']} accumulation steps)",
             "  placement: " + "; ".join(f"{k} " + ", ".join(f"{t} {f:g}" for t, f in v.items())
                                         for k, v in s["placement"].items())]
    if "search" in s:
        n = s["search"]
        lines.append(f"  best of {n['candidates']} candidates ({n['fitting']} fit, {n['simulated']} simulated)")
    by = {}
    for r in res.memory:
        if r["stage"] == 0 or r["tier"] != res.tiers[0]["tier"]:
            per = r["bytes_per_device"] * (1 if r["tier"] == res.tiers[0]["tier"] else r["devices"])
            by.setdefault(r["tier"], {}).setdefault(r["state"], 0)
            by[r["tier"]][r["state"]] += per
    rows = []
    for t in res.tiers:
        b = by.get(t["tier"], {})
        rows.append([t["tier"], t["scope"], *[_gib(b.get(k, 0)) for k in _STATES], _gib(t["used_bytes"]),
                     _gib(t["capacity_bytes"]), "yes" if t["fits"] else "NO"])
    lines += ["  memory (hbm: stage 0 per accelerator, used = the fullest stage + reserve; host tiers: node):",
              table(["tier", "scope", *_STATES, "used", "capacity", "fits"], rows, indent="    ")]
    lines.append(f"  step {format_time(s['step_s'])}: {s['tokens_per_s']:,.0f} tokens/s "
                 f"({s['tokens_per_s_per_gpu']:,.0f} per accelerator), MFU {s['mfu']:.1%} "
                 f"(kernel times: {s['kernels']})")
    for i, b in enumerate(res.breakdown):
        if i and len(res.breakdown) > 2 and i != len(res.breakdown) - 1:
            continue
        parts = ", ".join(f"{k} {format_time(v)}" for k, v in sorted(b.items(), key=lambda kv: -kv[1]) if v > 0)
        lines.append(f"    stage {i}: {parts}")
    moved = _traffic(res.traffic, s["dp"] * s["tp"])
    if moved:
        lines.append("  bytes moved by the node per step: " + ", ".join(f"{k} {_gib(v)}" for k, v in moved))
    if not s["fits"]:
        over = ", ".join(f"{t} by {_gib(v)}" for t, v in s["over_bytes"].items())
        lines.append(f"  does NOT fit: over {over}")
    return "\n".join(lines)


def _traffic(traffic: dict, copies: int) -> list:
    """Node totals by link or tier side (``nvlink[0]/out`` -> ``nvlink out``): each representative
    channel's bytes happen on the ``dp x tp`` accelerators (or their share of a host channel)."""
    out: dict = {}
    for key, b in traffic.items():
        name, _, side = key.partition("/")
        label = f"{name.split('[')[0]} {side}"
        out[label] = out.get(label, 0) + b * copies
    return [(k, v) for k, v in out.items() if v > 0]


def _fit_text(sc, rows) -> str:
    from memsim.ground.units import format_time
    head = (f"{sc.model} on {sc.platform}: global batch {sc.global_batch} x {sc.seq_len} tokens, "
            f"micro-batch {sc.micro_batch}, checkpointing {sc.checkpointing.label()}")
    out = []
    for r in rows:
        if "error" in r:
            out.append([r["strategy"], "-", "-", "-", "-", r["error"]])
            continue
        out.append([r["strategy"], "yes" if r["fits"] else "no", _gib(r["hbm_used_bytes"]),
                    format_time(r["step_s"]) if r["step_s"] else "-",
                    f"{format_count(r['max_params'])} ({r['max_layers']} layers)" if r["max_params"] else "none",
                    f"{r['max_seq_len']:,}" if r["max_seq_len"] else "none"])
    return head + "\n" + table(["strategy", "fits", "hbm/accelerator", "step", "largest model",
                                "longest seq_len"], out)
