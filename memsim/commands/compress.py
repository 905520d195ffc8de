"""``memsim compress``: token-level KV compression (recall, bytes, PCIe) and budget-vs-recall curves."""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json
from ._figures import add_figure_args, check_figure_args
from ._numbers import SEED, count
from ._table import table

_SOURCE_DEFAULTS = dict(prompt_tokens=1024, steps=256, layers=4, heads=8)


def _source(args):
    import numpy as np

    from memsim.workloads.attention_scores import load_scores, synthetic_scores
    if args.source == "synthetic":
        return synthetic_scores(rng=np.random.default_rng(args.seed), prompt_tokens=args.prompt_tokens,
                                steps=args.steps, **{k: v for k, v in _SOURCE_DEFAULTS.items()
                                                      if k in ("layers", "heads")})
    if not args.source.endswith(".npz"):
        raise ConfigError(f"--source {args.source!r}: expected 'synthetic' or a .npz file")
    return load_scores(args.source)


def _budgets(args, scores) -> list[int]:
    from memsim.sim.compress import budget_grid
    if not args.budget:
        return budget_grid(scores, args.points)
    out = []
    for item in args.budget:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                b = float(part[:-1]) / 100 * scores.prompt_tokens if part.endswith("%") else int(part)
            except ValueError:
                raise ConfigError(f"--budget {part!r}: expected tokens (64) or a share of the "
                                  f"prompt (10%)") from None
            if part.endswith("%") and not 0 < float(part[:-1]) <= 100:
                raise ConfigError(f"--budget {part!r}: a share of the prompt is in (0%, 100%]")
            if b < 1:
                raise ConfigError(f"--budget {part!r}: must be at least one token")
            out.append(int(round(b)))
    if len(out) > 1000:   # each budget is a point of every policy's curve
        raise ConfigError(f"--budget: {len(out):,} budgets; give at most 1,000")
    return out


def _curves(scores, pols, budgets, model, args):
    """``recall_curves`` one point at a time, so long runs show progress (rows as one call gives)."""
    import pandas as pd

    from memsim.ground.progress import Progress
    from memsim.sim.compress import recall_curves
    parts = []
    with Progress(total=len(pols) * len(budgets), label="points", enabled=not args.quiet) as bar:
        for p in pols:
            for b in budgets:
                parts.append(recall_curves(scores, policies=[p], budgets=[b], model=model, seed=args.seed))
                bar.advance()
    return pd.concat(parts, ignore_index=True)


def _compress(args) -> int:
    from memsim.policies import registry
    from memsim.workloads import load_model
    check_figure_args(args)
    if args.image_format and not (args.out or "").endswith(".html"):
        raise ConfigError("writes the figure beside --out FILE.html; give one",
                          field="--image-format")
    from memsim.ground.files import atomic_write_text, check_output
    if args.out is not None and not args.out.endswith((".csv", ".html")):
        raise ConfigError(f"--out {args.out!r}: expected a .html or .csv file", field="--out")
    check_output(args.out, "file", flag="--out")          # before the curves are computed
    model = load_model(args.model)
    scores = _source(args)
    budgets = _budgets(args, scores)
    if args.curves:
        pols = args.policy or registry.names("compression")
    elif not args.policy:
        raise ConfigError("--policy NAME is required (or --curves for every policy)")
    else:
        pols = args.policy
    df = _curves(scores, pols, budgets, model, args)
    if args.out:
        if args.out.endswith(".html"):
            from memsim.reports.export import write_figure
            from memsim.reports.figures_compression import recall_figure
            written = write_figure(recall_figure(df, title=f"Attention-mass recall vs KV budget "
                                                 f"({scores.description})"), args.out,
                                   plotly_js=args.plotly_js, image_format=args.image_format)
        else:
            atomic_write_text(args.out, df.to_csv(index=False))
    if args.json:
        for row in df.to_dict(orient="records"):
            print_json(row)
    else:
        print(table(["policy", "budget", "recall", "resident", "hbm_read/step", "pcie/step",
                     "blocking/step", "top-k prefetched"],
                    [[r.policy, r.budget_tokens, f"{r.recall:.3f}", f"{r.resident_fraction:.3f}",
                      f"{r.hbm_read_bytes_per_step / 2**20:.1f} MiB",
                      f"{r.fetch_bytes_per_step / 2**20:.2f} MiB",
                      f"{r.blocking_fetch_bytes_per_step / 2**20:.2f} MiB",
                      f"{r.prediction_accuracy:.3f}"] for r in df.itertuples()]))
        if args.out:
            print(f"  wrote {args.out}")
        for img in (written[1:] if args.out and args.out.endswith(".html") else []):
            print(f"  wrote {img}")
    return 0


def register(sub) -> None:
    p = add_command(sub, "compress", help="token-level KV compression: attention-mass recall, resident "
                    "bytes, HBM reads and PCIe fetches of a policy over an attention-score source",
                    example="memsim compress --policy h2o --budget 64 --budget 10%%  |  "
                            "memsim compress --curves --out recall.html", func=_compress)
    p.add_argument("--policy", action="append", metavar="NAME",
                   help="compression policy (repeatable; `memsim policies` lists them)")
    p.add_argument("--budget", action="append", metavar="N",
                   help="tokens per layer-head, or a share of the prompt like 10%% (repeatable, "
                        "comma-separated; default: a log grid of --points budgets)")
    p.add_argument("--curves", action="store_true", help="budget-vs-recall curves of every policy "
                   "(or of each --policy)")
    p.add_argument("--source", default="synthetic", metavar="synthetic|FILE.npz",
                   help="attention scores: the synthetic generator or a .npz dump "
                        "(format: docs/compression.md)")
    p.add_argument("--model", default="llama-3.1-8b", help="model whose KV bytes are counted")
    p.add_argument("--prompt-tokens", type=count(1, 1 << 20), default=_SOURCE_DEFAULTS["prompt_tokens"],
                   help="synthetic source: prompt length")
    p.add_argument("--steps", type=count(1, 1 << 16), default=_SOURCE_DEFAULTS["steps"],
                   help="synthetic source: decode steps")
    p.add_argument("--points", type=count(1, 1000), default=8, help="budgets in the default grid")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the synthetic source and noise")
    p.add_argument("--out", metavar="FILE", help="write the curves as .html (plotly) or .csv")
    p.add_argument("--json", action="store_true", help="one JSON object per (policy, budget)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_figure_args(p)
