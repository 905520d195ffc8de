"""``memsim calibrate``: fit a platform's analytic kernel model and write its hardware file.

``calibrate`` fits on the training split of a kernel-profile folder, scores train and
held-out rows, and writes a copy of the platform's YAML whose ``compute.timing`` block holds
the fitted parameters (with their source) and names the tables; ``pack_tables`` writes the
compact tables memsim ships (one attention kernel, bf16 all-reduces, 4 significant digits).
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from memsim.ground.errors import ConfigError
from memsim.ground.files import atomic_write_text
from memsim.hwmodels import KernelParams, load_platform, load_profile, platform_path
from memsim.sim.timing import device_of

from . import kernelfit as kf

__all__ = ["calibrate", "pack_tables", "choose_attention_kernel", "timing_yaml"]


def choose_attention_kernel(tables: dict, platform, wanted: str | None) -> str | None:
    """The attention ``kernel_source`` to use: ``wanted``, else the platform's, else the only one."""
    known = sorted({s for k in ("context_attention", "generation_attention") if k in tables
                    for s in tables[k]["kernel_source"].unique()})
    if not known:
        return None
    t = platform.compute.timing
    pick = wanted or (t.attention_kernel if t is not None and t.attention_kernel in known else None)
    if pick is None and len(known) == 1:
        pick = known[0]
    if pick is None:
        raise ConfigError(f"the tables hold several attention kernels ({', '.join(known)}); "
                          "choose one with --attention-kernel", field="--attention-kernel")
    if pick not in known:
        raise ConfigError(f"unknown attention kernel {pick!r}; the tables hold {', '.join(known)}",
                          field="--attention-kernel")
    return pick


def pack_tables(tables: dict, attention_kernel: str | None, out: Path) -> int:
    """Write compact Parquet copies of ``tables`` into ``out``; returns the bytes written."""
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for kind, df in tables.items():
        df = kf.rows_for(kind, df, attention_kernel).copy()
        lat = df["latency_ms"].to_numpy(dtype=float)
        e = np.floor(np.log10(lat)) - 3.0
        df["latency_ms"] = (np.round(lat / 10 ** e) * 10 ** e).astype("float32")
        keys = [c for c in df.columns if c != "latency_ms"]
        df = df.sort_values(keys).reset_index(drop=True)
        path = out / f"{kind}.parquet"
        df.to_parquet(path, compression="zstd", index=False)
        total += path.stat().st_size
    return total


def _fmt_params(p: dict) -> dict:
    """Parameters as the YAML writes them: durations with units, other numbers to 4 digits."""
    out = {}
    for k in KernelParams.model_fields:
        if k not in p:
            continue
        if isinstance(p[k], list):
            out[k] = [float(f"{float(v):.4g}") for v in p[k]]
            continue
        v = float(p[k])
        out[k] = f"{v * 1e6:.4g} us" if k.endswith("_s") else float(f"{v:.4g}")
    return out


def timing_yaml(p: dict, *, kernels: str | None, attention_kernel: str | None, source: str,
                cuda_graphs: bool = True, host_overhead: str = "0 ms") -> str:
    """The ``compute.timing`` block (indented two spaces, under ``compute:``)."""
    lines = ["  timing:                         # kernel timing (docs/calibration.md)"]
    if kernels is not None:
        lines.append(f"    kernels: {kernels}")
        lines.append(f"    attention_kernel: {attention_kernel}")
    lines += [f"    cuda_graphs: {'true' if cuda_graphs else 'false'}",
              f"    host_overhead: {host_overhead}", "    analytic:"]
    for k, v in _fmt_params(p).items():
        lines.append(f"      {k}: {v}")
    lines.append(f"    source: \"{source}\"")
    return "\n".join(lines) + "\n"


def _replace_timing(text: str, block: str) -> str:
    """The YAML ``text`` with its ``compute.timing`` block replaced by (or given) ``block``."""
    lines = text.splitlines(keepends=True)
    out, skip = [], False
    for ln in lines:
        if ln.startswith("  timing:"):
            skip = True
            continue
        if skip and (ln.startswith("    ") or not ln.strip()):
            continue
        skip = False
        out.append(ln)
    in_compute = False
    for i, ln in enumerate(out):
        if ln.startswith("compute:"):
            in_compute = True
        elif in_compute and ln.startswith("  source:"):
            return "".join(out[:i]) + block + "".join(out[i:])
    raise ConfigError("the hardware file's compute block has no source: line to place timing before",
                      field="compute.source")


def calibrate(kernels_dir: str | Path, hw: str, out: str | Path, *, attention_kernel: str | None = None,
              pack: str | Path | None = None) -> dict:
    """Fit ``hw``'s analytic model on ``kernels_dir``; write the calibrated hardware file ``out``."""
    kernels_dir, out = Path(kernels_dir), Path(out)
    tables = load_profile(kernels_dir)
    platform = load_platform(hw)
    src = choose_attention_kernel(tables, platform, attention_kernel)
    dev = device_of(platform)
    params = kf.fit(tables, dev, src)
    KernelParams(**_fmt_params(params))                 # fitted values must validate
    report = {"hw": platform.name, "kernels": str(kernels_dir), "attention_kernel": src, "ops": {}}
    for kind, df in tables.items():
        rows = kf.rows_for(kind, df, src)
        held = kf.split(kind, rows)
        pred = kf.predict(kind, rows, dev, params)
        report["ops"][kind] = {name: kf.score(kind, rows[mask].reset_index(drop=True), pred[mask], worst=0)
                               for name, mask in (("train", ~held), ("held_out", held))}
    if pack is not None:
        pack = Path(pack)
        report["packed_bytes"] = pack_tables(tables, src, pack)
        kernels_ref = os.path.relpath(pack.resolve(), out.resolve().parent)
    else:
        kernels_ref = os.path.relpath(kernels_dir.resolve(), out.resolve().parent)
    today = dt.date.today().isoformat()
    source = (f"memsim calibrate --kernels {kernels_dir.name} --hw {hw} ({today}): analytic parameters fitted "
              f"on the training split of the measured tables; tables: NVIDIA aisimulate perf data (Apache-2.0) "
              f"unless you brought your own")
    block = timing_yaml(params, kernels=kernels_ref, attention_kernel=src, source=source,
                        cuda_graphs=_graphs(platform), host_overhead=_host(platform))
    text = _replace_timing(Path(platform_path(hw)).read_text(), block)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, text)
    load_platform(out)                                   # what we wrote must load
    report["out"] = str(out)
    report["params"] = {k: params[k] for k in KernelParams.model_fields if k in params}
    return report


def _graphs(platform) -> bool:
    t = platform.compute.timing
    return True if t is None else bool(t.cuda_graphs)


def _host(platform) -> str:
    t = platform.compute.timing
    return "0 ms" if t is None else f"{float(t.host_overhead) * 1e3:.4g} ms"


def scored_frame(report: dict) -> pd.DataFrame:
    """The train / held-out error table of a calibration report, one row per kernel kind."""
    rows = []
    for kind, d in report["ops"].items():
        rows.append({"kernel": kind, **{f"{s}_{m}": d[s][m] for s in ("train", "held_out")
                                        for m in ("rows", "median_abs_rel_error", "p90_abs_rel_error")}})
    return pd.DataFrame(rows)
