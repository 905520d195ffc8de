"""``memsim models list|show``: the model catalogue with derived sizes and FLOPs."""
from __future__ import annotations

from memsim.ground.errors import ConfigError
from memsim.ground.units import format_size

from ._common import add_command, print_json
from ._table import format_count, format_flops, table


def register(sub) -> None:
    p = add_command(sub, "models", help="list or show catalogue models (workloads/models/*.yaml)",
                    example="memsim models show llama-3.1-8b", func=_need_sub)
    ms = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND", parser_class=type(p))
    ls = add_command(ms, "list", help="list the catalogue with sizes",
                     example="memsim models list --json", func=_list)
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    sh = add_command(ms, "show", help="show one model: shape and derived bytes/FLOPs",
                     example="memsim models show mixtral-8x7b --json", func=_show)
    sh.add_argument("model", metavar="NAME|PATH", help="catalogue name or path to a YAML file")
    sh.add_argument("--json", action="store_true", help="print the model as JSON (SI units)")


def _need_sub(args) -> int:
    raise ConfigError("choose a subcommand: list, show (see memsim models --help)", field="models")


def derived(m) -> dict:
    """The derived quantities of a ModelSpec, in bytes and FLOPs."""
    return {"params_total": m.params_total, "params_active": m.params_active,
            "weight_bytes": m.weight_bytes, "dtype_bytes": m.dtype_bytes,
            "kv_dtype_bytes": m.kv_dtype_bytes, "kv_bytes_per_token": m.kv_bytes_per_token,
            "linear_flops_per_token": m.linear_flops_per_token,
            "attn_flops_per_token_ctx": m.attn_flops_per_token_ctx,
            "expert_bytes": m.expert_bytes, "dense_bytes": m.dense_bytes}


def _list(args) -> int:
    from memsim.workloads.model import list_models, load_model
    models = [load_model(n) for n, _ in list_models()]
    if args.json:
        print_json({"models": [{"name": m.name, "description": m.description, **derived(m)}
                               for m in models]})
        return 0
    rows = [[m.name, format_count(m.params_total),
             format_count(m.params_active) if m.moe else "-", m.dtype,
             format_size(m.weight_bytes), format_size(m.kv_bytes_per_token), str(m.max_context)]
            for m in models]
    print(table(["name", "params", "active", "dtype", "weights", "KV/token", "context"], rows,
                indent=""))
    return 0


def _show(args) -> int:
    from memsim.workloads.model import load_model
    m = load_model(args.model)
    if args.json:
        print_json({**m.model_dump(mode="json"), "derived": derived(m)})
        return 0
    shape = [["layers", m.layers], ["hidden", m.hidden], ["heads", m.heads],
             ["kv_heads", m.kv_heads], ["head_dim", m.head_dim], ["ffn", m.ffn],
             ["vocab", m.vocab], ["max_context", m.max_context], ["dtype", m.dtype],
             ["kv_dtype", m.kv_dtype or f"{m.dtype} (= dtype)"], ["gated_ffn", m.gated_ffn],
             ["tie_embeddings", m.tie_embeddings], ["norm", m.norm], ["qkv_bias", m.qkv_bias],
             ["linear_bias", m.linear_bias], ["learned_positions", m.learned_positions],
             ["sliding_window", m.sliding_window or "-"],
             ["moe", f"{m.moe.active_experts} of {m.moe.experts} experts" if m.moe else "-"]]
    d = [["params total", f"{format_count(m.params_total)} ({m.params_total:,})"],
         ["params active", f"{format_count(m.params_active)} ({m.params_active:,})"],
         ["weight bytes", format_size(m.weight_bytes)],
         ["KV bytes/token", f"{format_size(m.kv_bytes_per_token)} ({m.kv_bytes_per_token:,} B)"],
         ["linear FLOP/token", format_flops(m.linear_flops_per_token, "FLOP")],
         ["attention FLOP/(token x context token)", f"{m.attn_flops_per_token_ctx:,}"],
         ["decode FLOP at 4k context", format_flops(m.decode_flops(4096), "FLOP")]]
    if m.moe:
        d += [["expert bytes (one expert, all layers)", format_size(m.expert_bytes)],
              ["dense bytes (read by every token)", format_size(m.dense_bytes)]]
    print(f"{m.name}: {m.description}\nsource: {m.source}\n")
    print(table(["field", "value"], [[k, str(v)] for k, v in shape]))
    print("\nderived:")
    print(table(["quantity", "value"], d))
    return 0
