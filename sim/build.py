"""Building one serving run from a scenario: hardware, model, cost model, KV blocks, tiers, scheduler.

``build`` returns the parts (``Parts``) the serve loop and the recorder work on; a
ConfigError raised while building names the scenario file and the field it came from.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memsim.ground.errors import ConfigError, SimulationError
from memsim.hwmodels import load_platform
from memsim.policies import create
from memsim.workloads import load_model, open_workload
from memsim.workloads.attention_scores import synthetic_scores

from .beyond import ExpertStage, LinkSet, WeightStream, path_channels
from .compress import simulate
from .config import Scenario
from .context import ContextWindow
from .costmodel import CostModel
from .hierarchy import Hierarchy
from .kvcache import KVManager
from .scheduler import Scheduler
from .weights import stream_plan
from .weights_config import resolve_experts, resolve_placement

__all__ = ["Parts", "build", "build_replica"]


@dataclass
class Parts:
    """Everything one run is made of."""
    platform: Any
    model: Any
    cost: CostModel
    compression: Any                 # the kv.compression policy, or None
    attention_recall: float          # attention mass the kept KV covers (1.0: the full cache)
    allocation: Any                  # a reserving allocation policy, or None for shared paged blocks
    block_tokens: int
    block_bytes: int
    kv: KVManager
    hier: Hierarchy | None           # the tiers below HBM, or None
    sched: Scheduler
    requests: Any                    # iterator of workload requests in arrival order (None: a cluster's replica)
    context: Any = None              # the context-window gate (sim.context.ContextWindow)
    beyond: Any = None               # weights streamed / experts cached beyond HBM (sim.beyond), or None

    @property
    def kv_capacity_bytes(self) -> int:
        return self.kv.total_blocks * self.block_bytes

    @property
    def store_names(self) -> tuple[str, ...]:
        return tuple(st.name for st in self.hier.stores) if self.hier is not None else ()


def build(scenario: Scenario, env, wake) -> Parts:
    """The parts of a run in ``env``; ``wake`` is the serve loop's Wakeup (for outside events)."""
    parts = build_replica(scenario, env, wake)
    with _Where(scenario.source_file)("workload"):
        parts.requests = open_workload(scenario.workload, base_dir=scenario.base_dir, seed=scenario.seed)
    return parts


def build_replica(scenario: Scenario, env, wake, *, rng: np.random.Generator | None = None,
                  pool_field: str | None = None, net=None, shared_pool=None, replica: int = 0,
                  platform=None, model=None) -> Parts:
    """One model replica's parts in ``env`` (no workload: ``requests`` is None).

    A cluster calls it once per replica with a scenario whose platform, model and tp are
    the pool's, the replica's own scheduler generator ``rng`` (default: the one a
    single-replica run draws from) and ``pool_field`` (``cluster.pools[i]``), which
    errors about the platform, the model or its fit are reported under; ``net`` is the
    cluster's one network and ``shared_pool`` its KV pool (``sim/cluster/kvpool.py``), which
    becomes this replica's only lower tier, reached over its NIC; ``platform`` and ``model``,
    when given, are the scenario's already loaded (a cluster loads each pool's once).
    """
    where = _Where(scenario.source_file)
    at = _Where(scenario.source_file, prefix=pool_field)
    if platform is None:
        with at("platform"):
            platform = load_platform(_resolve(scenario.platform, scenario.base_dir))
    if model is None:
        with at("model"):
            model = load_model(_resolve(scenario.model, scenario.base_dir))
    with at(None):
        cost = CostModel(platform, model, tp=scenario.parallelism.tp, dtype=scenario.dtype)
    compression, recall = _compression(scenario, where, platform, model, cost)
    streamed, experts, weight_hbm = _weights(scenario, where, platform, model, cost)
    with at(None) if pool_field else contextlib.nullcontext():
        alloc, block_tokens, block_bytes, kv = _kv(scenario, where, model, cost, weight_hbm)
    hier = _hierarchy(scenario, where, env, platform, model, cost, wake, net=net, shared=shared_pool,
                      replica=replica)
    with where(None):
        beyond = _beyond(scenario, env, hier, platform, model, cost, streamed, experts)
    if hier is not None:
        kv.on_evict = hier.on_hbm_evict
    sch = scenario.scheduler
    if rng is None:
        rng = np.random.default_rng(np.random.SeedSequence(scenario.seed).spawn(2)[1])
    sched = Scheduler(kv=kv, cost=cost, max_batch_size=sch.max_batch_size,
                      max_batch_tokens=sch.max_batch_tokens, chunked_prefill=sch.chunked_prefill,
                      hierarchy=hier, allocation=alloc, session_ttl=scenario.kv.session_ttl, wake=wake,
                      rng=rng)
    with where("context"):
        context = ContextWindow(max_context=scenario.context.max_context or model.max_context,
                                over_limit=scenario.context.over_limit)
    return Parts(platform=platform, model=model, cost=cost, compression=compression,
                 attention_recall=recall, allocation=alloc, block_tokens=block_tokens,
                 block_bytes=block_bytes, kv=kv, hier=hier, sched=sched, requests=None,
                 context=context, beyond=beyond)


def _compression(scenario, where, platform, model, cost):
    """(kv.compression policy or None, its attention recall); the cost model learns its bytes."""
    spec = scenario.kv.compression
    if spec is None:
        return None, 1.0   # the full cache keeps all attention mass
    tp = scenario.parallelism.tp
    with where("kv.compression"):
        policy = create("compression", spec)
        hbm = cost.hbm
        link = platform.link_between(hbm.name, "dram") if any(
            t.name == "dram" for t in platform.tiers) else None
        bw = link.bandwidth * min(tp, link.count) if link is not None else None
        cost.apply_compression(policy, model, bw)
        return policy, _estimate_recall(spec, policy, model, scenario.seed)


def _usable(scenario, cost) -> float:
    """HBM bytes for weights and KV over the replica's GPUs."""
    kvc, tp = scenario.kv, scenario.parallelism.tp
    return cost.hbm.capacity * kvc.memory_fraction * tp - kvc.activation_reserve * tp


def _weights(scenario, where, platform, model, cost):
    """((placement, stream plan) or None, expert setup or None, HBM bytes the weights take)."""
    w, ex = scenario.weights, scenario.experts
    if w.placement is None and ex is None:
        return None, None, model.weight_bytes       # every weight in HBM, as always
    if scenario.parallelism.tp != 1:
        raise ConfigError("weights and experts beyond HBM are modelled on one GPU (each GPU's link "
                          "would carry 1/tp of every layer): set parallelism.tp: 1",
                          file=scenario.source_file, field="parallelism.tp")
    if ex is not None and w.placement is not None:
        raise ConfigError("give experts (the experts in a lower tier) or weights.placement, not both: "
                          "streaming the dense weights beside an expert cache is not modelled",
                          file=scenario.source_file, field="experts")
    if w.placement is not None:
        with where(None):
            lp, fg = w.placement == "flexgen", w.flexgen     # lengths only the LP needs
            placement = resolve_placement(
                w, platform, model, batch=scenario.scheduler.max_batch_size,
                prompt_len=fg.prompt_len or (_mean_tokens(scenario, "input_tokens") if lp else 1),
                gen_len=fg.gen_len or (_mean_tokens(scenario, "output_tokens") if lp else 1))
            plan = stream_plan(platform, model, placement)
        return (placement, plan), None, plan.hbm_bytes(w.prefetch_depth)
    with where(None):
        rng = np.random.default_rng(np.random.SeedSequence(scenario.seed).spawn(4)[3])
        setup = resolve_experts(ex, platform, model, seed_rng=rng, base_dir=scenario.base_dir,
                                hbm_free_bytes=int(_usable(scenario, cost) - model.dense_bytes))
    return None, setup, model.dense_bytes + setup.cache_bytes


def _mean_tokens(scenario, name: str) -> int:
    """The workload's mean length (the FlexGen LP's shape); traces need weights.flexgen."""
    d = getattr(scenario.workload, name, None)
    v = getattr(d, "mean", None) or getattr(d, "value", None)
    if v is None:
        field = "prompt_len" if name == "input_tokens" else "gen_len"
        raise ConfigError(f"the workload gives no mean {name}: set weights.flexgen.{field}",
                          file=scenario.source_file, field=f"weights.flexgen.{field}")
    return max(1, int(round(v)))


def _beyond(scenario, env, hier, platform, model, cost, streamed, experts):
    """The run's WeightStream or ExpertStage (sim/beyond.py), or None."""
    if streamed is None and experts is None:
        return None
    links = LinkSet(env, hier)
    if streamed is not None:
        placement, plan = streamed
        return WeightStream(links, plan, prefetch_depth=scenario.weights.prefetch_depth, placement=placement)
    return ExpertStage(links, experts, cost=cost, model=model, max_batch=scenario.scheduler.max_batch_size,
                       keyed_rates=path_channels(platform, experts.tier, cost.hbm.name))


def _kv(scenario, where, model, cost, weight_hbm_bytes):
    """(reserving allocation or None, tokens per block, bytes per block, the HBM KV manager)."""
    kvc = scenario.kv
    usable = _usable(scenario, cost)
    kv_bytes = usable - weight_hbm_bytes
    cost.check_fits(kv_bytes)
    kv_token_bytes = cost.kv_bytes_per_token  # stored bytes/token (compression may shrink it)
    with where("kv.allocation"):
        alloc = create("allocation", kvc.allocation)
    block_tokens = int(alloc.unit_tokens(kvc.block_tokens, kv_token_bytes, model.layers))
    block_bytes = max(1, int(round(block_tokens * kv_token_bytes)))
    total_blocks = int(kv_bytes // block_bytes)
    if total_blocks < 1:
        raise SimulationError(f"HBM left for KV ({kv_bytes / 2**20:.1f} MiB) holds no "
                              f"{block_tokens}-token block")
    with where("kv.prefix_cache.eviction"):
        kv = KVManager(total_blocks=total_blocks, block_tokens=block_tokens, block_bytes=block_bytes,
                       prefix_cache=kvc.prefix_cache_on(), eviction=kvc.prefix_cache.eviction)
    # shared fixed-size pages need no per-request reservation; contiguous schemes do
    return (None if alloc.shares_prefix_blocks else alloc), block_tokens, block_bytes, kv


def _hierarchy(scenario, where, env, platform, model, cost, wake, *, net=None, shared=None,
               replica: int = 0) -> Hierarchy | None:
    kvc = scenario.kv
    if not kvc.tiers and shared is None:
        return None
    pol = {}
    for kind in ("write", "load", "prefetch", "promotion", "overlap"):
        with where(f"kv.{kind}"):
            pol[kind] = create(kind, getattr(kvc, kind))
    with where("kv.tiers"):
        return Hierarchy(env, platform=platform, hbm=cost.hbm, tiers=kvc.tiers,
                         kv_bytes_per_token=int(round(cost.kv_bytes_per_token)), tp=scenario.parallelism.tp,
                         cost=cost, layers=model.layers, wake=wake, net=net, shared=shared, replica=replica,
                         **pol)


def _estimate_recall(spec, policy, model, seed: int) -> float:
    """Attention-mass recall of a compression policy at the budget it runs with in the engine,
    measured once with the token-level simulation on a seeded synthetic attention source
    (``memsim.sim.compress``); NaN when the policy states no engine budget."""
    mode = getattr(policy, "mode", None)
    if mode == "quantize":
        return 1.0  # every token stays resident
    frac = getattr(policy, "budget_fraction", None) if mode == "evict" else getattr(policy, "top_k_fraction", None)
    if mode == "evict" and frac is None:
        return 1.0  # no engine budget: the engine keeps every token
    if frac is None:
        return float("nan")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    scores = synthetic_scores(prompt_tokens=512, steps=64, layers=2, heads=4, rng=rng)
    budget = max(1, int(round(frac * (512 + 32))))
    res = simulate(spec, scores, budget_tokens=budget, model=model, seed=seed)
    return float(np.mean(res.recall))


class _Where:
    """``with where("field"):`` adds the scenario file and field to a ConfigError that lacks them."""

    def __init__(self, file, prefix: str | None = None):
        self.file = file
        self.prefix = prefix   # a cluster pool's field: its platform/model errors are named under it

    @contextlib.contextmanager
    def __call__(self, field):
        if self.prefix is not None:
            field = f"{self.prefix}.{field}" if field else self.prefix
        try:
            yield
        except ConfigError as e:
            if e.file:
                if field and not os.path.exists(e.file):
                    # a file the scenario names is missing: say which field names it
                    raise ConfigError(f"{e.file}: {e.problem}", file=self.file, field=field) from None
                raise  # it names its own file (a hardware YAML, a trace line)
            prefix = field
            last = field.split(".")[-1] if field else None
            if e.field and last and (e.field == last or e.field.startswith((last + ".", last + "["))):
                prefix = field[: -len(last)].rstrip(".") or None  # it already names that field
            raise e.located(file=self.file, field_prefix=prefix) from None


def _resolve(name: str, base_dir: Path) -> str:
    """A platform/model given as a relative file path resolves against the scenario's folder."""
    if name.endswith((".yaml", ".yml", ".json")):
        p = Path(name)
        if not p.is_absolute():
            p = Path(base_dir) / p
        return str(p)
    return name

