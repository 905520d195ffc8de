"""Calibrate a hardware model of this host: its caches as SRAM tiers, its memory as DRAM.

Cache sizes come from sysfs; the last level's *effective* size is where the
pointer-chase latency crosses the geometric mean of its latency and DRAM's (a
VM may report a shared cache it cannot really use).  Each level's bandwidth and
latency are probed inside it and de-mixed with the same fractional-fit rule
the predictor uses, then written as a normal ``hwmodels`` platform file.
"""
from __future__ import annotations

import json
import math
import os
import platform as _platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import yaml

from . import microbench as mb
from .levels import Level, fractions

__all__ = ["Calibration", "calibrate", "write_host", "load_calibration", "host_platform_dict"]

_FALLBACK_CACHES = [mb.CacheInfo(1, 32 * 1024, 64, 1), mb.CacheInfo(2, 1024 ** 2, 64, 1),
                    mb.CacheInfo(3, 32 * 1024 ** 2, 64, os.cpu_count() or 1)]


@dataclass(frozen=True)
class Calibration:
    """What the microbenchmarks measured; ``levels`` nearest the core first."""

    levels: tuple[Level, ...]
    rates: dict
    cpu: str
    cores: int
    clock_hz: float
    quick: bool
    notes: list = field(default_factory=list)

    def to_json(self) -> str:
        d = asdict(self)
        d["levels"] = [asdict(lv) for lv in self.levels]
        return json.dumps(d, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        d = json.loads(text)
        d["levels"] = tuple(Level(**lv) for lv in d["levels"])
        return cls(**d)


def _cpu_info() -> tuple[str, float]:
    name, mhz = _platform.processor() or "cpu", 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("cpu", ""):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":", 1)[1])
    except OSError:
        pass
    return name or "cpu", (mhz or 1000.0) * 1e6


def _mem_total_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024 ** 3


def _effective_last_level(caches, rng, *, max_probe_bytes, repeats):
    """(capacity_bytes, [(size, latency_s)]) of the last cache from the latency knee."""
    last = caches[-1].size_bytes
    lo = max(4 * caches[-2].size_bytes if len(caches) > 1 else 4 * 1024 ** 2, 1024 ** 2)
    sizes, s = [], lo
    while s <= max_probe_bytes:
        sizes.append(s)
        s *= 2
    curve = [(s, mb.chase_latency(s, rng, repeats=repeats, target_s=0.004)) for s in sizes]
    if len(curve) < 3:
        return min(last, sizes[-1] if sizes else last), curve
    thresh = math.sqrt(curve[0][1] * curve[-1][1])
    cap = curve[0][0]
    for (s0, l0), (s1, l1) in zip(curve, curve[1:]):
        if l0 <= thresh < l1:
            frac = math.log(thresh / l0) / math.log(l1 / l0)
            cap = int(s0 * 2 ** frac)
            break
        if l1 <= thresh:
            cap = s1
    cap = (cap // (1024 ** 2)) * 1024 ** 2 or cap
    return min(last, cap), curve


def _demix(value_at_probe: float, probe_bytes: int, done: list[Level], capacity_bytes: int,
           *, inverse: bool) -> float:
    """Remove nearer levels' share from a probe that partly hit them (fractional fit)."""
    caps = [lv.capacity_bytes for lv in done] + [capacity_bytes]
    fr = fractions(probe_bytes, caps)
    own = fr[-1]
    if own <= 0:
        return value_at_probe
    if inverse:   # bandwidth: time per byte adds up
        rest = sum(f / lv.read_bytes_per_s for f, lv in zip(fr, done))
        per_byte = (1.0 / value_at_probe - rest) / own
        bw = 1.0 / per_byte if per_byte > 0 else value_at_probe
        return bw if not done or bw < done[-1].read_bytes_per_s else value_at_probe
    rest = sum(f * lv.latency_s for f, lv in zip(fr, done))
    lat = (value_at_probe - rest) / own
    return lat if lat > (done[-1].latency_s if done else 0.0) else value_at_probe


def calibrate(*, quick: bool = True, rng: np.random.Generator | None = None,
              repeats: int = 3) -> Calibration:
    """Run the microbenchmarks (seconds in quick mode) and return the measured model."""
    rng = rng if rng is not None else np.random.default_rng(0)
    caches = mb.read_caches() or _FALLBACK_CACHES
    notes = [] if mb.read_caches() else ["sysfs cache sizes unavailable: assumed 32 KiB/1 MiB/32 MiB"]
    max_probe = (128 if quick else 512) * 1024 ** 2
    eff_last, curve = _effective_last_level(caches, rng, max_probe_bytes=max_probe,
                                            repeats=repeats)
    if eff_last < caches[-1].size_bytes:
        notes.append(f"L{caches[-1].level}: sysfs says {caches[-1].size_bytes} B; the latency "
                     f"knee says {eff_last} B is usable (used)")
    levels: list[Level] = []
    for i, c in enumerate(caches):
        cap = eff_last if i == len(caches) - 1 else c.size_bytes
        prev_cap = levels[-1].capacity_bytes if levels else 0
        probe = max(cap // 2, prev_cap * 2) if i == 0 else max(min(cap // 4, 16 * prev_cap), 2 * prev_cap)
        probe = min(probe, cap)
        bw = mb.stream_bandwidth(probe, repeats=repeats)
        lat = mb.chase_latency(probe, rng, repeats=repeats)
        bw = _demix(bw, probe, levels, cap, inverse=True)
        lat = _demix(lat, probe, levels, cap, inverse=False)
        levels.append(Level(name=f"l{c.level}", kind="sram", capacity_bytes=cap,
                            count=max(1, (os.cpu_count() or 1) // c.shared_cpus),
                            read_bytes_per_s=bw, latency_s=lat, probe_bytes=probe,
                            line_bytes=c.line_bytes,
                            source=f"measured: stream + pointer chase at {probe} B; "
                                   f"size from sysfs index{i}"))
    probe = max(4 * eff_last, 256 * 1024 ** 2 if not quick else 128 * 1024 ** 2)
    probe = min(probe, _mem_total_bytes() // 8)
    bw = _demix(mb.stream_bandwidth(probe, repeats=repeats), probe, levels,
                _mem_total_bytes(), inverse=True)
    lat_probe = max(p for p, _ in curve) if curve else probe
    lat_raw = dict(curve).get(lat_probe) or mb.chase_latency(lat_probe, rng, repeats=repeats)
    lat = _demix(lat_raw, lat_probe, levels, _mem_total_bytes(), inverse=False)
    levels.append(Level(name="dram", kind="dram", capacity_bytes=_mem_total_bytes(), count=1,
                        read_bytes_per_s=bw, latency_s=lat, probe_bytes=probe, line_bytes=64,
                        source=f"measured: stream at {probe} B, pointer chase at {lat_probe} B; "
                               "capacity from /proc/meminfo"))
    cpu, clock = _cpu_info()
    rates = mb.loop_rates(rng, repeats=max(3, repeats))
    rates["chase_curve"] = [[int(s), float(t)] for s, t in curve]
    return Calibration(levels=tuple(levels), rates=rates, cpu=cpu, cores=os.cpu_count() or 1,
                       clock_hz=clock, quick=quick, notes=notes)


def _gbps(x: float) -> str:
    return f"{x / 1e9:.3f} GB/s"


def host_platform_dict(cal: Calibration) -> dict:
    """The calibration as a platform mapping in the ``hwmodels`` schema."""
    r = cal.rates
    best = max(r["gemm_flop_per_s"], r["attention_flop_per_s"], r["decode_flop_per_s"])
    per_core = [lv for lv in cal.levels if lv.kind == "sram" and lv.count == cal.cores]
    shared = [lv for lv in cal.levels if lv.kind == "sram" and lv.count < cal.cores]
    sram_per_core = sum(lv.capacity_bytes for lv in per_core) or cal.levels[0].capacity_bytes
    l2 = shared[-1].capacity_bytes if shared else cal.levels[-2].capacity_bytes
    tiers = []
    for lv in cal.levels:
        par = max(1, math.ceil(lv.read_bytes_per_s * lv.latency_s / lv.line_bytes))
        tiers.append({
            "name": lv.name, "kind": lv.kind, "capacity": f"{lv.capacity_bytes} B",
            "count": lv.count, "read_bw": _gbps(lv.read_bytes_per_s),
            "write_bw": _gbps(lv.read_bytes_per_s), "latency": f"{lv.latency_s * 1e9:.3f} ns",
            "granularity": f"{lv.line_bytes} B", "parallelism": par,
            "source": lv.source + "; write_bw not measured (set to read_bw); parallelism = "
                                  "read_bw x latency / line (Little's law)"})
    links = []
    for near, far in zip(cal.levels, cal.levels[1:]):
        links.append({"name": f"{far.name}-{near.name}", "between": [far.name, near.name],
                      "bandwidth": _gbps(far.read_bytes_per_s),
                      "latency": f"{max(far.latency_s - near.latency_s, 0.0) * 1e9:.3f} ns",
                      "source": f"the {far.name} tier's measured read bandwidth and latency"})
    return {
        "version": 1,
        "name": "host",
        "description": f"{cal.cpu}, {cal.cores} cores, calibrated by memsim validate"
                       + (" (quick)" if cal.quick else ""),
        "source": "memsim validate microbenchmarks (validate/microbench.py) on this machine",
        "compute": {
            "name": cal.cpu, "count": 1,
            "peak_flops": {"fp32": f"{best * cal.cores / 1e9:.3f} GFLOP/s"},
            "sm_count": cal.cores, "sram_per_sm": f"{sram_per_core} B", "l2": f"{l2} B",
            "clock": f"{cal.clock_hz / 1e6:.1f} MHz",
            "efficiency": {"gemm": round(min(1.0, r["gemm_flop_per_s"] / best), 4),
                           "attention": round(min(1.0, r["attention_flop_per_s"] / best), 4),
                           "memory": 1.0,
                           "source": "kernel inner-loop rates on L1-resident inputs / the best "
                                     "of them; single-thread kernels"},
            "iteration_overhead": "0 s",
            "source": "peak = best single-core inner-loop rate x cores (fp32, Numba)"},
        "tiers": tiers,
        "links": links,
    }


def write_host(cal: Calibration, out_dir: str | Path) -> Path:
    """Write ``host.yaml`` (platform) and ``calibration.json`` (raw numbers) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "host.yaml"
    header = "# calibrated by `memsim validate`; raw numbers in calibration.json\n"
    path.write_text(header + yaml.safe_dump(host_platform_dict(cal), sort_keys=False))
    (out / "calibration.json").write_text(cal.to_json())
    return path


def load_calibration(out_dir: str | Path) -> Calibration:
    """Read back ``calibration.json`` written by :func:`write_host`."""
    return Calibration.from_json((Path(out_dir) / "calibration.json").read_text())
