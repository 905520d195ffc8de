"""GPU measurements: time the CUDA kernels, store them, compare stored ones with a model.

``measure`` (GPU only) times the CUDA kernels with CUDA events; ``append_measurements``
stores them under ``validate/measurements/``; ``compare_stored`` (any machine)
predicts every stored row from its platform file with ``memsim.sim.kernel``'s accounting.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from memsim.ground.errors import ConfigError
from memsim.hwmodels import load_platform
from memsim.sim.kernel import attention_io

from .kernels import cuda_attention as ca
from .kernels.attention_tiled import tile_buffer_elems
from .kernels.paged_decode import make_paged

__all__ = ["MEASUREMENTS_DIR", "MEASUREMENT_COLUMNS", "gpu_cases", "measure",
           "append_measurements", "compare_stored", "match_platform", "predict_gpu_row"]

MEASUREMENTS_DIR = Path(__file__).resolve().parent / "measurements"
MEASUREMENT_COLUMNS = ["kernel", "params", "measured_s", "measured_elems", "device", "hwmodel",
                       "compute_capability", "driver", "sm_clock_hz", "mem_clock_hz",
                       "numba_version", "date"]
_MATCH = [("H200", "h200_sxm"), ("H100", "h100_sxm"), ("A100", "a100_sxm_80gb"),
          ("L40S", "l40s"), ("4090", "rtx4090"), ("MI300X", "mi300x")]


def match_platform(device_name: str) -> str:
    """The shipped platform a device name belongs to, or "" if none matches."""
    for key, name in _MATCH:
        if key.lower() in device_name.lower():
            return name
    return ""


def gpu_cases(*, quick: bool) -> list[tuple[str, dict]]:
    """(kernel, params) timed on the GPU."""
    out = []
    for n in ([1024, 4096] if quick else [1024, 4096, 16384]):
        for br, bc in ((32, 32), (64, 64), (128, 32)):
            out.append(("attention_tiled", {"n": n, "d": 64, "block_rows": br, "block_cols": bc}))
    for bt in (16, 32, 64, 128, 256, 512):
        p = {"heads": 32, "n": 32768, "d": 128, "block_tokens": bt}
        out.append(("paged_gather", p))
        out.append(("paged_decode", p))
    return out


def measure(*, quick: bool, repeats: int, seed: int = 0, progress=None) -> pd.DataFrame:
    """Time every GPU case (median of ``repeats`` CUDA-event timings after a warm-up)."""
    if not ca.cuda_ready():
        raise ConfigError("--cuda: no CUDA GPU is available (numba.cuda.is_available() is False)",
                          field="--cuda")
    info = ca.device_info()
    info["hwmodel"] = match_platform(info["device"])
    rng = np.random.default_rng(seed)
    rows, todo = [], gpu_cases(quick=quick)
    today = _dt.date.today().isoformat()
    paged: dict = {}                  # (heads, n, d, block_tokens) -> (q, k_pool, v_pool, table)
    for i, (kernel, p) in enumerate(todo):
        elems = None
        if kernel == "attention_tiled":
            q, k, v = (rng.standard_normal((p["n"], p["d"]), dtype=np.float32) for _ in range(3))

            def run(timer=None):
                return ca.attention_tiled_cuda(q, k, v, p["block_rows"], p["block_cols"], timer=timer)
            elems = int(run()[1].sum())
        else:
            h, n, d, bt = p["heads"], p["n"], p["d"], p["block_tokens"]
            if (h, n, d, bt) not in paged:        # gather and decode share one cache
                kk, vv = (rng.standard_normal((h, n, d), dtype=np.float32) for _ in range(2))
                qq = rng.standard_normal((h, d), dtype=np.float32)
                paged.clear()
                paged[(h, n, d, bt)] = (qq, *make_paged(kk, vv, bt, rng))
                del kk, vv
            qq, kp, vp, tab = paged[(h, n, d, bt)]
            if kernel == "paged_gather":
                def run(timer=None):
                    return ca.paged_gather_cuda(kp, tab, n, timer=timer)
            else:
                def run(timer=None):
                    return ca.paged_decode_cuda(qq, kp, vp, tab, n, threads=128, timer=timer)
            run()
        times: list[float] = []
        for _ in range(repeats):
            run(timer=times)
        rows.append({"kernel": kernel, "params": json.dumps(p, sort_keys=True, separators=(",", ":")),
                     "measured_s": float(np.median(times)), "measured_elems": elems, **info,
                     "date": today})
        if progress:
            progress(i + 1, len(todo), rows[-1])
    return pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS)


def append_measurements(df: pd.DataFrame, directory: Path = MEASUREMENTS_DIR) -> Path:
    """Append rows to ``<directory>/<gpu>-<date>.csv`` (header written once)."""
    directory.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", str(df["device"].iloc[0]).lower()).strip("-")
    path = directory / f"{slug}-{df['date'].iloc[0]}.csv"
    df.to_csv(path, mode="a", header=not path.exists(), index=False)
    return path


def predict_gpu_row(kernel: str, params: dict, platform) -> tuple[float, int | None]:
    """(predicted seconds, simulator elements) of one GPU row on a ``hwmodels`` platform:
    roofline of the simulator's HBM traffic against peak fp32 x attention efficiency."""
    hbm = next((t for t in platform.tiers if t.kind != "sram"), platform.tiers[0])
    rate = platform.compute.peak("fp32") * platform.compute.efficiency.attention
    if kernel == "attention_tiled":
        n, d, br, bc = params["n"], params["d"], params["block_rows"], params["block_cols"]
        r = attention_io("flash2", n=n, d=d, dtype_bytes=4, block_rows=br, block_cols=bc,
                         sram_elems=tile_buffer_elems(d, br, bc) + br)
    elif kernel in ("paged_decode", "paged_gather"):
        h, n, d, bt = params["heads"], params["n"], params["d"], params["block_tokens"]
        r = attention_io("decode_paged", n=n, d=d, heads=h, dtype_bytes=4, block_cols=bt,
                         sram_elems=2 * d + 2 * bt * d + bt + 3)
        if kernel == "paged_gather":              # read the blocks, write them back contiguous
            return 2 * (r.reads - h * d) * 4 / hbm.read_bw, None
    else:
        raise ValueError(f"unknown GPU kernel {kernel!r}")
    return max(r.io_bytes / hbm.read_bw, r.flops / rate), r.io


def compare_stored(directory: Path = MEASUREMENTS_DIR) -> pd.DataFrame:
    """Every stored GPU row with its prediction from the matching platform file."""
    rows = []
    for path in sorted(directory.glob("*.csv")):
        df = pd.read_csv(path)
        for _, r in df.iterrows():
            if not r.get("hwmodel") or pd.isna(r.get("hwmodel")):
                continue
            plat = load_platform(r["hwmodel"])
            pred, elems = predict_gpu_row(r["kernel"], json.loads(r["params"]), plat)
            rows.append({"kernel": f"gpu:{r['kernel']}", "params": r["params"],
                         "measured_s": r["measured_s"], "predicted_s": pred,
                         "rel_error": (pred - r["measured_s"]) / r["measured_s"],
                         "measured_elems": r.get("measured_elems"), "predicted_elems": elems,
                         "level": "hbm", "device": r["device"], "file": path.name})
    return pd.DataFrame(rows)
