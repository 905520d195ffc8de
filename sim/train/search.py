"""The fastest training plan that fits: ZeRO stage x placement x checkpointing x micro-batch.

Every candidate's memory is exact and cheap, so all are checked; the ones that
fit are simulated in order of a lower bound on their step time (their compute,
plus the DRAM stream of a CPU optimizer, which nothing overlaps), and the search
stops once the bound reaches the best simulated time.  Ties go to the earlier
candidate: lower ZeRO stage, less offloaded, less recomputed, smaller
micro-batch (the candidate order), so the answer does not depend on float dust.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from memsim.ground.errors import ConfigError, SimulationError

from .layout import resolve
from .memory import plan_memory
from .paths import LARGE_REQUEST_BYTES
from .result import TrainResult, evaluate, make_kernels
from .scenario import BYTES, Checkpointing, Parallelism, Placement, TrainScenario
from .units import stage_units

__all__ = ["SearchResult", "search_plans", "candidate_placements", "variant", "placement_label"]

CHECKPOINTING = ("none", "selective", "sqrt", "full")


@dataclass
class SearchResult:
    best: TrainResult
    table: list = field(default_factory=list)     # one row per candidate
    simulated: int = 0


def placement_label(p: dict) -> str:
    def one(v):
        return "+".join(f"{t}" if f == 1 else f"{t} {f:g}" for t, f in v.items())
    return ", ".join(f"{k} {one(v)}" for k, v in p.items())


def candidate_placements(platform, zero_stage: int) -> list[dict]:
    """Placements worth trying on ``platform``: optimizer (and its gradients) on each host
    tier as ZeRO-Offload does, weights too at stage 3 (ZeRO-Infinity), activations
    kept, half offloaded or all offloaded (PipeOffload, MEMO)."""
    kinds = {}
    for t in platform.tiers:
        kinds.setdefault(t.kind, t.name)
    hbm, dram, cxl, ssd = (kinds.get(k) for k in ("hbm", "dram", "cxl", "ssd"))
    opts = [{hbm: 1.0}]
    if dram:
        opts.append({dram: 1.0})
        if cxl:
            opts += [{cxl: 1.0}, {dram: 0.5, cxl: 0.5}]
        if ssd:
            opts.append({ssd: 1.0})
    acts = [{hbm: 1.0}]
    if dram:
        acts += [{hbm: 0.5, dram: 0.5}, {dram: 1.0}]
        if cxl:
            acts.append({cxl: 1.0})
    out = []
    for opt in opts:
        grads = {hbm: 1.0} if hbm in opt else ({ssd: 1.0} if ssd in opt else {dram: 1.0})
        params_options = [{hbm: 1.0}]
        if zero_stage == 3 and hbm not in opt:
            params_options.append({ssd: 1.0} if ssd in opt else {dram: 1.0})
        for params in params_options:
            for a in acts:
                out.append({"params": params, "grads": grads, "optimizer": opt, "activations": a})
    return out


def variant(sc: TrainScenario, **update) -> TrainScenario:
    """``sc`` with fields replaced, each re-validated (``parallelism`` merges into the old one)."""
    models = {"parallelism": Parallelism, "placement": Placement, "checkpointing": Checkpointing}
    out = {"search": False}
    for k, v in update.items():
        if k == "parallelism":
            v = {**sc.parallelism.model_dump(), **v}
        out[k] = models[k].model_validate(v) if k in models else v
    if out.get("micro_batch", sc.micro_batch) > sc.global_batch:
        raise ConfigError(f"micro_batch={out['micro_batch']} is larger than global_batch="
                          f"{sc.global_batch}", field="micro_batch")
    return sc.model_copy(update=out)


def _placements(base, zero_stage: int):
    """(placement, activation_offload) pairs; pipelines also try PipeOffload's selective offload."""
    for place in candidate_placements(base.platform, zero_stage):
        yield place, "uniform"
        if base.pp > 1 and place["activations"].get(base.hbm.name, 0.0) < 1.0:
            yield place, "selective"


def _micro_batches(sc: TrainScenario, dp: int) -> list[int]:
    per_rank = sc.global_batch // dp if sc.global_batch % dp == 0 else 0
    return [m for m in range(1, min(per_rank, 64) + 1) if per_rank % m == 0] or [sc.micro_batch]


def _lower_bound(lay, units_cache, kernels) -> float:
    """A bound no simulation can beat: the busiest of compute, NVLink and the PCIe directions
    over the step, plus the CPU optimizer's DRAM stream (nothing overlaps it)."""
    sc, dp, hbm = lay.scenario, lay.dp, lay.hbm.name
    key = (sc.micro_batch, sc.checkpointing.scheme)
    if key not in units_cache:
        units_cache[key] = [stage_units(lay, st, kernels) for st in lay.stages]
    pr, zero, ga = sc.precision, sc.parallelism.zero_stage, lay.grad_accum
    p_b, g_b = BYTES[pr.compute], BYTES[pr.grads]
    place = sc.placement
    bounds = []
    for us in units_cache[key]:
        params = sum(u.owned for u in us)
        stored = sum(u.stored_bytes for u in us if u.offloadable)
        comp = ga * sum(u.forward_s + u.backward_s + u.recompute_s for u in us)
        ring = (dp - 1) / dp
        peer = ga * sum(u.tp_bytes for u in us) * 2 * 2 * (lay.tp - 1) / lay.tp
        if zero == 3 and dp > 1:
            peer += ga * 2 * ring * p_b * params
        peer += ga * ring * g_b * params if zero >= 2 else 2 * ring * g_b * params
        act_off = place.off("activations", hbm)
        h2d = ga * (stored * act_off + 2 * p_b * math.ceil(params / dp) * place.off("params", hbm))
        d2h = ga * stored * act_off
        ssd = ga * 2 * p_b * math.ceil(params / dp) * _on_ssd(lay, place.params) * lay.gpus
        bounds.append(max(comp, _rate(lay, peer, peer=True), _rate(lay, h2d), _rate(lay, d2h),
                          ssd / _ssd_bw(lay)))
    bound = max(bounds)
    opt_off = place.off("optimizer", hbm)
    if opt_off > 0:     # the optimizer step waits for the last gradient; nothing overlaps it
        node = max(st.params for st in lay.stages) / (dp if zero >= 1 else 1) * lay.gpus
        k = pr.optimizer_bytes_per_param
        dram = lay.tiers["dram"]
        on_ssd = _on_ssd(lay, place.optimizer)
        bound += max(node * opt_off * (k + g_b) / dram.read_bw_total,
                     node * on_ssd * k / _ssd_bw(lay), node * on_ssd * k / _ssd_bw(lay, write=True))
    return bound


def _on_ssd(lay, fractions: dict) -> float:
    return sum(f for t, f in fractions.items() if lay.kind_of(t) == "ssd")


def _ssd_bw(lay, *, write: bool = False) -> float:
    t = lay.tiers.get("ssd")
    if t is None:
        return math.inf
    return t.bandwidth_at(LARGE_REQUEST_BYTES, t.parallelism, write=write) * t.count


def _rate(lay, nbytes: float, *, peer: bool = False) -> float:
    """Seconds for one accelerator to move ``nbytes`` over its GPU link (or host link)."""
    if nbytes <= 0:
        return 0.0
    hbm = lay.hbm.name
    link = lay.platform.link_between(hbm, hbm) if peer else lay.platform.path(hbm, lay.tiers["dram"].name)[0]
    return nbytes / (link.bandwidth * min(1.0, link.count / lay.gpus))


def search_plans(sc: TrainScenario, *, kernels=None, zero_stages=(0, 1, 2, 3),
                 checkpointing=CHECKPOINTING, micro_batches=None) -> SearchResult:
    """The fastest plan for ``sc``'s model, batch, precision and parallel layout that fits.

    Raises SimulationError naming the tightest tier when no candidate fits.
    """
    base = resolve(variant(sc))
    kernels = kernels or make_kernels(base)
    mbs = micro_batches or _micro_batches(sc, base.dp)
    stages = [z for z in zero_stages if base.pp == 1 or z <= 1]
    rows, fitting = [], []
    units_cache: dict = {}
    for z in stages:
        for place, mode in _placements(base, z):
            for ck in checkpointing:
                for mb in mbs:
                    try:
                        cand = resolve(variant(sc, parallelism={"zero_stage": z}, placement=place,
                                               checkpointing=ck, micro_batch=mb, activation_offload=mode),
                                       platform=base.platform, model=base.model)
                    except ConfigError:
                        continue
                    plan = plan_memory(cand)
                    row = {"zero_stage": z, "placement": place, "label": placement_label(place),
                           "activation_offload": mode, "checkpointing": ck, "micro_batch": mb,
                           "fits": plan.fits, "hbm_used_bytes": int(plan.used[cand.hbm.name]), "step_s": None}
                    rows.append(row)
                    if plan.fits:
                        fitting.append((_lower_bound(cand, units_cache, kernels), len(fitting), cand, row))
    if not fitting:
        tight = min(rows, key=lambda r: r["hbm_used_bytes"]) if rows else None
        where = f"; the smallest plan needs {tight['hbm_used_bytes'] / 2**30:.4g} GiB of HBM per " \
                f"accelerator ({tight['label']}, checkpointing {tight['checkpointing']})" if tight else ""
        raise SimulationError(f"no plan for {base.model.name} with global_batch {sc.global_batch} and "
                              f"seq_len {sc.seq_len} fits on {base.platform.name}{where}")
    fitting.sort(key=lambda x: (x[0], x[1]))
    best, best_s, best_i, simulated = None, math.inf, -1, 0
    for bound, i, cand, row in fitting:
        if bound >= best_s * (1 + 1e-9):
            break
        res = evaluate(cand, kernels=kernels)
        simulated += 1
        t = row["step_s"] = res.summary["step_s"]
        if t < best_s * (1 - 1e-9) or (t <= best_s * (1 + 1e-9) and i < best_i):
            best, best_s, best_i = res, t, i
    best.summary["search"] = {"candidates": len(rows), "fitting": len(fitting), "simulated": simulated}
    return SearchResult(best=best, table=rows, simulated=simulated)
