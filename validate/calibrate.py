"""Calibrate a hardware model of this host: its caches as SRAM tiers, its memory as DRAM.

Sizes from sysfs (the last cache's usable size from the streaming-bandwidth knee);
bandwidth, latency and compute/memory overlap probed inside each level; written as
a ``hwmodels`` platform plus ``calibration.json`` with the raw numbers.
"""
from __future__ import annotations

import json
import math
import os
import platform as _platform
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from . import microbench as mb
from .levels import Level

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
    """(model name, clock in Hz) from /proc/cpuinfo; ("cpu", 1 GHz) where unreadable."""
    name, mhz = "", 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "cpu MHz" and not mhz:
                mhz = float(value)
    except (OSError, ValueError):
        pass
    return name or _platform.processor() or "cpu", (mhz or 1000.0) * 1e6


def _mem_total_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024 ** 3


def _knee(curve) -> int:
    """Size where a falling (size, bandwidth) curve crosses the geometric mean of its
    two ends, interpolated log-log; the last size if it never does."""
    (_, v_first), (s_last, v_last) = curve[0], curve[-1]
    thresh = math.sqrt(v_first * v_last)
    for (s0, v0), (s1, v1) in zip(curve, curve[1:]):
        if v0 >= thresh > v1:
            return int(s0 * (s1 / s0) ** (math.log(thresh / v0) / math.log(v1 / v0)))
    return s_last


def _with_overlap(levels: list[Level], *, repeats: int) -> list[Level]:
    """Each level's compute/memory overlap from the streaming dot at its probe size:
    ``overlap = (mem + compute - measured) / min(mem, compute)``, clipped to [0, 1].

    The dot is repeated per row (``work``) until its compute time, taken from the
    same loop on an L1-resident input, about equals the level's memory time: the
    estimate is most sensitive there, and noisy when one term dwarfs the other.
    """
    l1 = levels[0]
    c_s, c_bytes = mb.stream_dot_time(min(l1.capacity_bytes * 2 // 3, 32 * 1024), repeats=repeats)
    per_byte = c_s / c_bytes                       # compute seconds per byte at work = 1
    out = [replace(l1, overlap=1.0)]
    for lv in levels[1:]:
        work = max(1, round(1.0 / (lv.read_bytes_per_s * per_byte)))
        t, nbytes = mb.stream_dot_time(lv.probe_bytes, work=work, repeats=repeats)
        mem, comp = nbytes / lv.read_bytes_per_s, per_byte * work * nbytes
        ov = (mem + comp - t) / min(mem, comp)
        out.append(replace(lv, overlap=float(min(1.0, max(0.0, ov)))))
    return out


def calibrate(*, quick: bool = True, rng: np.random.Generator | None = None,
              repeats: int = 3, max_probe_bytes: int | None = None) -> Calibration:
    """Run the microbenchmarks (seconds in quick mode) and return the measured model.

    Private caches are probed inside their sysfs size (L1 at half, L2 at a
    quarter).  For the last cache, streaming bandwidth is swept from 2x the level
    below up to ``max_probe``; its usable size is the knee of that curve and DRAM's
    bandwidth and latency are read at the sweep's end (``max_probe_bytes``:
    256 MiB quick, 1 GiB otherwise, at most 1/8 of memory).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    found = mb.read_caches()
    caches = found or _FALLBACK_CACHES
    notes = [] if found else ["sysfs cache sizes unavailable: assumed 32 KiB/1 MiB/32 MiB"]
    cores = os.cpu_count() or 1
    max_probe = max_probe_bytes or (256 if quick else 1024) * 1024 ** 2
    max_probe = min(max_probe, _mem_total_bytes() // 8)
    sweep, size = [], 2 * (caches[-2].size_bytes if len(caches) > 1 else 1024 ** 2)
    while size <= max_probe:
        sweep.append((size, mb.stream_bandwidth(size, repeats=repeats)))
        size *= 2
    falls = len(sweep) >= 2 and sweep[0][1] >= 1.2 * sweep[-1][1]
    knee = _knee(sweep) if falls else caches[-1].size_bytes
    eff_last = min(caches[-1].size_bytes, max(knee // 1024 ** 2, 1) * 1024 ** 2)
    if not falls:
        notes.append(f"streaming bandwidth did not fall between {sweep[0][0] if sweep else 0} and "
                     f"{max_probe} B: last cache size from sysfs, DRAM probed at {max_probe} B")
    elif eff_last < caches[-1].size_bytes:
        notes.append(f"L{caches[-1].level}: sysfs says {caches[-1].size_bytes} B; streaming "
                     f"bandwidth falls at {eff_last} B (used as its capacity)")
    levels: list[Level] = []
    for i, c in enumerate(caches):
        last = i == len(caches) - 1
        cap = eff_last if last else c.size_bytes
        if last and sweep:
            probe, bw = sweep[0]
        else:
            probe = max(cap // 2 if i == 0 else cap // 4, 2 * (levels[-1].capacity_bytes if levels else 0))
            probe = min(probe, cap)
            bw = mb.stream_bandwidth(probe, repeats=repeats)
        lat = mb.chase_latency(probe, rng, repeats=repeats)
        levels.append(Level(name=f"l{c.level}", kind="sram", capacity_bytes=cap,
                            count=max(1, cores // c.shared_cpus), read_bytes_per_s=bw,
                            latency_s=lat, probe_bytes=probe, line_bytes=c.line_bytes,
                            source=f"measured: stream + pointer chase at {probe} B; size "
                                   + ("from the streaming knee" if last and eff_last < c.size_bytes
                                      else "from sysfs")))
    mem = _mem_total_bytes()
    probe, bw = sweep[-1] if sweep else (max_probe, mb.stream_bandwidth(max_probe, repeats=repeats))
    lat = mb.chase_latency(probe, rng, repeats=repeats)
    levels.append(Level(name="dram", kind="dram", capacity_bytes=mem, count=1,
                        read_bytes_per_s=bw, latency_s=lat, probe_bytes=probe, line_bytes=64,
                        source=f"measured: stream + pointer chase at {probe} B; capacity "
                               "from /proc/meminfo"))
    levels = _with_overlap(levels, repeats=repeats)
    cpu, clock = _cpu_info()
    rates = mb.loop_rates(rng, repeats=max(3, repeats))
    rates["stream_sweep"] = [[int(s), float(b)] for s, b in sweep]
    return Calibration(levels=tuple(levels), rates=rates, cpu=cpu, cores=cores,
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
