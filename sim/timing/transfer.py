"""Analytic parameters for a platform: its own fitted ones, or carried over from a calibrated one.

A GPU without measured tables (H200, MI300X, RTX 4090, a user's HBM4 part) is the normal
case.  Its kernel model uses *its own* datasheet numbers (peak FLOP/s, HBM bandwidth, SM
count, clock, GPU link) and borrows from the nearest calibrated architecture only what a
datasheet does not say, each in the unit that carries over:

* efficiencies (fractions of peak), tile and pipeline constants: copied unchanged;
* software costs (kernel launch, per-call and per-sequence attention setup, NCCL step
  latency, stream ramp-up): copied in seconds (same driver and kernel library);
* the per-k-step latency floor of a GEMM CTA: copied in clock cycles (scaled by the
  reference clock / this clock).

``transfer_from`` in the hardware file names the reference; without a ``timing`` block the
nearest calibrated shipped platform by machine balance is used (``nearest_calibrated``).
"""
from __future__ import annotations

import math

from memsim.ground.errors import ConfigError
from memsim.hwmodels import list_platforms, load_platform

__all__ = ["analytic_params", "nearest_calibrated", "calibrated_platforms", "CYCLE_SCALED", "COPIED"]

CYCLE_SCALED = ("gemm_kstep_s",)
COPIED = ("launch_s", "attn_launch_s", "decode_fill_s", "attn_seq_s", "decode_seq_s", "ar_latency_s", "mem_fill_s")

_calibrated_cache: dict[str, object] | None = None


def calibrated_platforms() -> dict:
    """``{name: Platform}`` of the shipped platforms with fitted analytic parameters."""
    global _calibrated_cache
    if _calibrated_cache is None:
        out = {}
        for name, _ in list_platforms():
            p = load_platform(name)
            t = p.compute.timing
            if t is not None and t.analytic is not None:
                out[name] = p
        _calibrated_cache = out
    return _calibrated_cache


def _balance(platform, dtype: str) -> tuple[float, float]:
    hbm = platform.tier_of_kind("hbm") or platform.tier_of_kind("dram")
    peak = platform.compute.peak_flops.get(dtype) or max(platform.compute.peak_flops.values())
    return peak / hbm.read_bw, hbm.read_bw


def nearest_calibrated(platform, dtype: str = "bf16") -> str:
    """The calibrated shipped platform closest in machine balance (FLOP per byte of HBM), HBM
    bandwidth and SM count, all on log scale (ties: name order)."""
    ridge, bw = _balance(platform, dtype)
    best = None
    for name, ref in sorted(calibrated_platforms().items()):
        r_ridge, r_bw = _balance(ref, dtype)
        d = abs(math.log(ridge / r_ridge)) + abs(math.log(bw / r_bw)) \
            + 0.5 * abs(math.log(platform.compute.sm_count / ref.compute.sm_count))
        if best is None or d < best[0]:
            best = (d, name)
    if best is None:
        raise ConfigError("no shipped platform has calibrated kernel parameters", field="compute.timing")
    return best[1]


def analytic_params(platform, dtype: str = "bf16") -> tuple[dict, str]:
    """(parameters for ``sim.timing.analytic``, where they come from) for ``platform``."""
    t = platform.compute.timing
    if t is not None and t.analytic is not None:
        return t.analytic.as_dict(), f"fitted for {platform.name}"
    ref_name = t.transfer_from if t is not None else nearest_calibrated(platform, dtype)
    cal = calibrated_platforms()
    if ref_name not in cal:
        known = ", ".join(sorted(cal)) or "(none)"
        raise ConfigError(f"transfer_from {ref_name!r} is not a calibrated platform; calibrated: {known}",
                          field="compute.timing.transfer_from")
    ref = cal[ref_name]
    p = ref.compute.timing.analytic.as_dict()
    for k in CYCLE_SCALED:
        p[k] = p[k] * (ref.compute.clock / platform.compute.clock)   # ratio first: equal clocks change nothing
    how = "named in compute.timing.transfer_from" if t is not None else "nearest by machine balance"
    return p, f"transferred from {ref_name} ({how})"
