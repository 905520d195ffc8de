"""Fit the analytic kernel model to measured tables, and score any timer against them.

``split(kind, df)`` marks each row train or held out: whole shape groups are held out
(a GEMM's weight shape (n, k), an attention configuration (heads, KV heads, head_dim,
KV dtype, window) at one batch size, an all-reduce message size), chosen by a CRC32 of
the group, one in five.  ``fit`` fits each kernel kind's parameters on the training rows
by least squares in log time (kinds in order: GEMM, prefill attention, decode attention,
all-reduce; each later kind reuses the earlier kinds' parameters).  ``score`` compares a
``KernelTimer``'s predictions with table rows, as they are.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from memsim.sim.timing import analytic as an
from memsim.sim.timing.tables import ATTN_KEY

__all__ = ["split", "fit", "predict", "score", "rows_for", "FIT_ORDER", "HOLDOUT_EVERY"]

HOLDOUT_EVERY = 5
LOSS = "soft_l1"
"""Robust loss: the scores are median and p90 errors, so a few launch-bound outliers must not pull the bulk."""
_GROUPS = {"gemm": ["n", "k"], "context_attention": ATTN_KEY + ["batch_size"],
           "generation_attention": ATTN_KEY + ["batch_size"], "all_reduce": ["num_gpus", "message_elems"]}

# kind -> (parameters fitted, start values, lower and upper bounds)
FIT_ORDER = {
    "gemm": {"launch_s": (3e-6, 0, 1e-4), "gemm_compute_eff": (0.8, 0.05, 1.0), "gemm_tile_c": (1.0, 0, 500),
             "gemm_k0": (64, 0, 5000), "gemm_act_factor": (1.0, 0, 2), "gemm_kstep_s": (1e-7, 0, 1e-5),
             "gemm_max_split": (4, 1, 64), "mem_eff": (0.8, 0.05, 1.0), "mem_fill_s": (2e-6, 0, 1e-4),
             "overlap_q": (3, 1, 20), "gemm_m_curve": ([1.0] * 5, 0.2, 5.0),
             "gemm_n_curve": ([1.0] * 4, 0.2, 5.0), "gemm_k_curve": ([1.0] * 4, 0.2, 5.0)},
    "context_attention": {"attn_compute_eff": (0.6, 0.02, 1.0), "attn_d0": (32, 0, 1000),
                          "attn_launch_s": (1e-5, 0, 1e-3), "attn_seq_s": (2e-7, 0, 1e-5),
                          "attn_cta_s": (4e-6, 0, 1e-4), "attn_fp8_factor": (1.2, 0.5, 4.0), "attn_fp8_cta_factor": (1.0, 0.5, 4.0),
                          "attn_window_factor": (2.0, 1.0, 20.0),
                          "attn_l2_ratio": (3.0, 0.2, 50.0), "attn_overlap_q": (2.0, 1.0, 20.0),
                          "attn_len_curve": ([1.0] * 4, 0.2, 5.0), "attn_group_curve": ([1.0] * 3, 0.2, 5.0),
                          "attn_heads_curve": ([1.0] * 4, 0.2, 5.0), "attn_dim_curve": ([1.0] * 3, 0.2, 5.0),
                          "attn_tokens_curve": ([1.0] * 4, 0.2, 5.0)},
    "generation_attention": {"decode_mem_eff": (0.7, 0.02, 1.0), "decode_fill_s": (5e-6, 0, 1e-3),
                             "decode_seq_s": (1e-7, 0, 1e-5), "decode_cta_ratio": (4.0, 0.1, 200.0),
                             "decode_fp8_factor": (1.3, 0.5, 4.0), "decode_split_s": (2e-6, 0, 1e-4), "decode_len_curve": ([1.0] * 4, 0.2, 5.0),
                             "decode_batch_curve": ([1.0] * 4, 0.2, 5.0),
                             "decode_heads_curve": ([1.0] * 4, 0.2, 5.0), "decode_group_curve": ([1.0] * 3, 0.2, 5.0),
                             "decode_bytes_curve": ([1.0] * 5, 0.2, 5.0),
                             "decode_dim_curve": ([1.0] * 3, 0.2, 5.0)},
    "all_reduce": {"ar_latency_s": (3e-6, 0, 1e-3), "ar_bus_eff": (0.7, 0.02, 1.0),
                   "ar_gpus_curve": ([1.0] * 3, 0.2, 100.0), "ar_bytes_curve": ([1.0] * 4, 0.2, 20.0),
                   "ar_lat_curve": ([1.0] * 3, 0.05, 20.0)},
}


def rows_for(kind: str, df: pd.DataFrame, attention_kernel: str | None) -> pd.DataFrame:
    """The rows a platform's timer answers: one attention kernel source, bf16 all-reduces."""
    if "kernel_source" in df.columns and attention_kernel is not None:
        df = df[df["kernel_source"] == attention_kernel]
    if kind == "all_reduce":
        df = df[df["nccl_dtype"] == "half"]
    return df.reset_index(drop=True)


def split(kind: str, df: pd.DataFrame) -> np.ndarray:
    """Boolean array: True where the row is held out of fitting."""
    keys = df[_GROUPS[kind]].astype(str).agg("|".join, axis=1)
    return np.array([zlib.crc32(k.encode()) % HOLDOUT_EVERY == 0 for k in keys], dtype=bool)


def predict(kind: str, df: pd.DataFrame, dev: an.Device, p: dict) -> np.ndarray:
    """Analytic seconds for every row of a table of ``kind``."""
    if kind == "gemm":
        return an.gemm_s(df["m"], df["n"], df["k"], dev, p)
    kvb = np.where(df.get("kv_cache_dtype", pd.Series(["bfloat16"] * len(df))) == "fp8", 1.0, 2.0)
    if kind == "context_attention":
        return an.context_attention_s(df["batch_size"], df["seq_len"], df["num_heads"], df["num_key_value_heads"],
                                      df["head_dim"], dev, p, window=df["window_size"], kv_bytes=kvb)
    if kind == "generation_attention":
        return an.generation_attention_s(df["batch_size"], df["kv_len"], df["num_heads"],
                                         df["num_key_value_heads"], df["head_dim"], dev, p, kv_bytes=kvb,
                                         window=df["window_size"].to_numpy(dtype=float))
    return an.all_reduce_s(df["message_elems"] * 2.0, df["num_gpus"], dev, p)


def _fit_kind(kind: str, df: pd.DataFrame, dev: an.Device, p: dict) -> dict:
    spec = FIT_ORDER[kind]
    names, x0, lo, hi, sizes = [], [], [], [], []
    for n, (start, low, high) in spec.items():
        vals = list(p[n]) if isinstance(start, list) and isinstance(p.get(n), list) else start
        vals = vals if isinstance(vals, list) else [p.get(n, start)]
        names.append(n)
        sizes.append(len(vals) if isinstance(start, list) else 0)
        x0 += [float(v) for v in vals]
        lo += [low] * len(vals)
        hi += [high] * len(vals)
    x0, lo, hi = np.array(x0), np.array(lo, dtype=float), np.array(hi, dtype=float)
    x0 = np.clip(x0, lo, hi)
    # scale every parameter to O(1) so the solver's steps are comparable
    scale = np.where(x0 > 0, x0, 1.0)
    y = df["latency_ms"].to_numpy() * 1e-3

    def unpack(z):
        out, i = {}, 0
        for n, size in zip(names, sizes):
            if size:
                out[n] = [float(v) for v in z[i:i + size] * scale[i:i + size]]
                i += size
            else:
                out[n] = float(z[i] * scale[i])
                i += 1
        return out

    def resid(z):
        return np.log(predict(kind, df, dev, dict(p, **unpack(z))) / y)
    r = least_squares(resid, x0 / scale, bounds=(lo / scale, hi / scale), x_scale="jac", max_nfev=400,
                      loss=LOSS, f_scale=0.1)
    return unpack(r.x)


def fit(tables: dict, dev: an.Device, attention_kernel: str | None, base: dict | None = None) -> dict:
    """Fitted parameters (every key of ``analytic.PARAMS``) from the training rows of ``tables``.

    Kinds without a table keep ``base``'s values (or the start values)."""
    p = {n: (list(v[0]) if isinstance(v[0], list) else v[0]) for spec in FIT_ORDER.values() for n, v in spec.items()}
    p.update(base or {})
    for kind in FIT_ORDER:
        if kind not in tables:
            continue
        df = rows_for(kind, tables[kind], attention_kernel)
        train = df[~split(kind, df)]
        if len(train) >= 2 * len(FIT_ORDER[kind]):
            p.update(_fit_kind(kind, train, dev, p))
    return p


def score(kind: str, df: pd.DataFrame, predicted: np.ndarray, *, worst: int = 5) -> dict:
    """Median and p90 absolute relative error of ``predicted`` against ``df``'s latencies."""
    y = df["latency_ms"].to_numpy() * 1e-3
    predicted = np.asarray(predicted, dtype=float)
    err = predicted / y - 1.0
    a = np.abs(err)
    out = {"rows": int(len(df)), "median_abs_rel_error": float(np.median(a)) if len(a) else float("nan"),
           "p90_abs_rel_error": float(np.quantile(a, 0.9)) if len(a) else float("nan")}
    if worst and len(a):
        idx = np.argsort(-a)[:worst]
        cols = [c for c in df.columns if c != "latency_ms"]
        out["worst"] = [{**{c: _plain(df[c].iloc[i]) for c in cols}, "measured_s": float(y[i]),
                         "predicted_s": float(predicted[i]), "rel_error": float(err[i])} for i in idx]
    return out


def _plain(v):
    return v.item() if hasattr(v, "item") else v
