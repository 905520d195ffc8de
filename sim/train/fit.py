"""What fits, per strategy: the largest model and the longest sequence on a platform.

A strategy is a ZeRO stage and a placement of the four state classes (the
systems the papers name).  For each, with the scenario's batch, precision,
parallel layout and checkpointing, ``fit_limits`` finds by bisection (memory
grows monotonically in both) the deepest variant of the scenario's model that
fits (its width kept, its layers scaled: the model states, 16 bytes per
parameter, dominate what limits size) and the longest ``seq_len`` that fits.
"""
from __future__ import annotations

from dataclasses import dataclass

from memsim.ground.errors import ConfigError

from .layout import resolve
from .memory import plan_memory
from .result import evaluate
from .scenario import TrainScenario
from .search import variant

__all__ = ["Strategy", "STRATEGIES", "strategies_for", "fit_limits", "max_layers", "max_seq_len"]

MAX_LAYERS = 1 << 20
MAX_SEQ_LEN = 1 << 26


@dataclass(frozen=True)
class Strategy:
    name: str
    zero_stage: int
    placement: dict            # state class -> tier kind -> fraction
    paper: str
    activations: dict | None = None
    """Where the strategy puts activations (tier kind -> fraction); None keeps the scenario's."""

    def placement_for(self, platform) -> dict | None:
        """The placement with tier names of ``platform``; None if it lacks a tier kind."""
        names = {}
        for t in platform.tiers:
            names.setdefault(t.kind, t.name)
        out = {}
        wanted = dict(self.placement, **({"activations": self.activations} if self.activations else {}))
        for state, fr in wanted.items():
            if any(k not in names for k in fr):
                return None
            out[state] = {names[k]: f for k, f in fr.items()}
        return out


def _p(params="hbm", grads="hbm", optimizer="hbm") -> dict:
    return {"params": {params: 1.0}, "grads": {grads: 1.0}, "optimizer": {optimizer: 1.0}}


STRATEGIES = (
    Strategy("data parallel", 0, _p(), "replicated model states (PyTorch DDP)"),
    Strategy("ZeRO-1", 1, _p(), "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"),
    Strategy("ZeRO-2", 2, _p(), "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"),
    Strategy("ZeRO-3", 3, _p(), "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"),
    Strategy("ZeRO-Offload", 2, _p(grads="dram", optimizer="dram"),
             "ZeRO-Offload: Democratizing Billion-Scale Model Training"),
    Strategy("ZeRO-3 CPU offload", 3, _p(params="dram", grads="dram", optimizer="dram"),
             "ZeRO-Infinity: Breaking the GPU Memory Wall for Extreme Scale Deep Learning"),
    Strategy("ZeRO-3 CXL offload", 3, _p(grads="dram", optimizer="cxl"),
             "Analysis and Optimized CXL-Attached Memory Allocation for Long-Context LLM Fine-Tuning"),
    Strategy("ZeRO-Infinity (NVMe)", 3, _p(params="ssd", grads="ssd", optimizer="ssd"),
             "ZeRO-Infinity: Breaking the GPU Memory Wall for Extreme Scale Deep Learning",
             activations={"dram": 1.0}),     # the paper offloads activation checkpoints to CPU memory
)


def strategies_for(sc: TrainScenario, platform) -> list[tuple[Strategy, TrainScenario]]:
    """Each strategy the platform's tiers (and the pipeline layout) allow, as a scenario."""
    out = []
    for st in STRATEGIES:
        place = st.placement_for(platform)
        if place is None or (sc.parallelism.pp > 1 and st.zero_stage > 1):
            continue
        if st.activations is None:
            place["activations"] = dict(sc.placement.activations)
        out.append((st, variant(sc, parallelism={"zero_stage": st.zero_stage}, placement=place)))
    return out


def _fits(sc: TrainScenario, model, platform) -> bool:
    try:
        return plan_memory(resolve(sc, platform=platform, model=model)).fits
    except ConfigError:
        return False


def _bisect(ok, lo: int, limit: int, step: int = 1) -> int | None:
    """Largest multiple of ``step`` in [lo, limit] with ok(n), for ok true then false."""
    limit = limit // step * step
    if not ok(lo):
        return None
    good, bad = lo, None
    while bad is None:
        n = min(good * 2, limit)
        if n == good:
            return good
        if ok(n):
            good = n
        else:
            bad = n
    while bad - good > step:
        mid = max(good + step, (good + bad) // 2 // step * step)
        if mid >= bad:
            break
        good, bad = (mid, bad) if ok(mid) else (good, mid)
    return good


def max_layers(sc: TrainScenario, model, platform) -> int | None:
    """Most layers (a multiple of the pipeline stages) of ``model``'s width that fit."""
    pp = sc.parallelism.pp

    def ok(n):
        return _fits(sc, model.model_copy(update={"layers": n}), platform)
    return _bisect(ok, pp, MAX_LAYERS, step=pp)


def max_seq_len(sc: TrainScenario, model, platform) -> int | None:
    """Longest sequence (a multiple of 128 past 128) that fits, up to ``MAX_SEQ_LEN``."""
    def ok(n):
        return _fits(sc.model_copy(update={"seq_len": n}), model, platform)
    return _bisect(ok, 128, MAX_SEQ_LEN, step=128)


def fit_limits(sc: TrainScenario, *, simulate: bool = True, kernels=None) -> list[dict]:
    """Per strategy: fits as given?, step time and HBM if so, largest model, longest sequence."""
    base = resolve(variant(sc))
    platform, model = base.platform, base.model
    rows = []
    for st, scen in strategies_for(sc, platform):
        try:
            lay = resolve(scen, platform=platform, model=model)
        except ConfigError as e:
            rows.append({"strategy": st.name, "zero_stage": st.zero_stage, "error": e.problem})
            continue
        plan = plan_memory(lay)
        res = evaluate(lay, kernels=kernels, simulate=simulate and plan.fits)
        layers = max_layers(scen, model, platform)
        big = model.model_copy(update={"layers": layers}) if layers else None
        rows.append({
            "strategy": st.name, "zero_stage": st.zero_stage, "paper": st.paper,
            "placement": {k: dict(v) for k, v in scen.placement.model_dump().items()},
            "fits": plan.fits, "hbm_used_bytes": int(plan.used[base.hbm.name]),
            "step_s": res.summary["step_s"] if plan.fits and simulate else None,
            "tokens_per_s": res.summary["tokens_per_s"] if plan.fits and simulate else None,
            "max_layers": layers, "max_params": big.params_total if big else None,
            "max_seq_len": max_seq_len(scen, model, platform),
        })
    return rows
