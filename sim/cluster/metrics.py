"""Cluster metrics over result tables: SLO attainment and goodput, per-replica load, KV transfers.

Every function reads plain DataFrames with the Result's column names (``ttft_s``,
``tpot_s``, ``status``; ``replica`` in cluster runs), so it works on a live Result,
a saved one, or a small table made by hand.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["slo_goodput", "max_goodput_rate", "per_replica", "kv_transfer_summary", "REPLICA_COLUMNS"]

#: Columns of ``per_replica`` (one row per replica).
REPLICA_COLUMNS = {
    "replica": "index in the cluster",
    "requests": "requests routed to it (arrival router; decode replicas: requests whose KV it received)",
    "completed": "of those, completed",
    "busy_fraction": "share of the run with an iteration in progress",
    "mean_batch_size": "sequences per iteration, averaged over iterations",
    "iterations": "iterations run (a closed-form decode run counts its steps)",
    "kv_use_mean": "mean of used / capacity HBM bytes over the occupancy samples",
    "kv_use_peak": "largest used / capacity sample",
    "queue_mean": "mean waiting requests over the samples",
    "prefix_hit_ratio": "prefix-hash blocks found cached in its HBM / blocks looked up",
    "prefix_hit_token_ratio": "prompt tokens found cached / prompt tokens",
}


def slo_goodput(requests: pd.DataFrame, *, ttft_s: float | None = None, tpot_s: float | None = None,
                duration_s: float) -> dict[str, float]:
    """SLO attainment and goodput of one run.

    A request meets the SLO if it completed, its TTFT is at most ``ttft_s`` and its
    TPOT at most ``tpot_s`` (a one-token answer has no TPOT and meets that half).
    Rejected and unfinished requests count against it.  ``goodput_req_s`` is the
    requests meeting it per second of ``duration_s`` (the simulated span).
    """
    if ttft_s is None and tpot_s is None:
        raise ValueError("give ttft_s, tpot_s or both")
    n = len(requests)
    done = requests["status"].astype(str).to_numpy() == "completed"
    ttft = requests["ttft_s"].to_numpy(dtype=float)
    tpot = requests["tpot_s"].to_numpy(dtype=float)
    ok_ttft = done if ttft_s is None else done & (ttft <= ttft_s)
    ok_tpot = done if tpot_s is None else done & (np.isnan(tpot) | (tpot <= tpot_s))
    met = int((ok_ttft & ok_tpot).sum())
    return {
        "slo_requests": n,
        "slo_met": met,
        "slo_attainment": met / n if n else float("nan"),
        "slo_ttft_attainment": float(ok_ttft.sum() / n) if n else float("nan"),
        "slo_tpot_attainment": float(ok_tpot.sum() / n) if n else float("nan"),
        "goodput_req_s": met / duration_s if duration_s > 0 else float("nan"),
    }


def max_goodput_rate(rates: Sequence[float], attainment: Sequence[float], *, target: float = 0.9) -> float:
    """DistServe's goodput: the highest request rate whose SLO attainment is >= ``target``
    (divide by the GPU count for its per-GPU goodput).

    ``rates`` ascending, ``attainment`` measured at each.  Between the last rate that
    meets the target and the first that misses it the crossing is interpolated
    linearly; NaN if even the lowest rate misses it, the highest rate if none misses.
    """
    r = np.asarray(rates, dtype=float)
    a = np.asarray(attainment, dtype=float)
    if r.size == 0 or r.size != a.size or np.any(np.diff(r) <= 0):
        raise ValueError("rates must be non-empty, ascending and match attainment")
    if a[0] < target:
        return float("nan")
    miss = np.flatnonzero(a < target)
    if miss.size == 0:
        return float(r[-1])
    j = int(miss[0])
    lo_r, hi_r, lo_a, hi_a = r[j - 1], r[j], a[j - 1], a[j]
    return float(lo_r + (lo_a - target) / (lo_a - hi_a) * (hi_r - lo_r))


def per_replica(requests: pd.DataFrame, iterations: pd.DataFrame | None, tiers: pd.DataFrame | None, *,
                replicas: int, duration_s: float, hbm: str = "hbm") -> pd.DataFrame:
    """One row per replica (``REPLICA_COLUMNS``) from tables carrying a ``replica`` column.

    ``requests`` may carry ``decode_replica`` (disaggregated runs): a decode replica's
    ``requests`` then counts the requests it decoded.  ``tiers`` rows of tier ``hbm``
    give the KV use and queue samples.
    """
    idx = pd.RangeIndex(replicas, name="replica")
    out = pd.DataFrame(index=idx)
    rep = requests["replica"].to_numpy(dtype=np.int64)
    done = requests["status"].astype(str).to_numpy() == "completed"
    routed = np.bincount(rep[rep >= 0], minlength=replicas)[:replicas]
    completed = np.bincount(rep[(rep >= 0) & done], minlength=replicas)[:replicas]
    if "decode_replica" in requests:
        dec = requests["decode_replica"].to_numpy(dtype=np.int64)
        routed = routed + np.bincount(dec[dec >= 0], minlength=replicas)[:replicas]
        completed = completed + np.bincount(dec[(dec >= 0) & done], minlength=replicas)[:replicas]
    out["requests"] = routed
    out["completed"] = completed
    busy = np.zeros(replicas)
    seqs = np.zeros(replicas)
    steps = np.zeros(replicas)
    if iterations is not None and len(iterations):
        r = iterations["replica"].to_numpy(dtype=np.int64)
        busy = np.bincount(r, weights=iterations["duration_s"].to_numpy(dtype=float), minlength=replicas)
        k = iterations["steps"].to_numpy(dtype=float)
        steps = np.bincount(r, weights=k, minlength=replicas)
        seqs = np.bincount(r, weights=k * iterations["batch_size"].to_numpy(dtype=float), minlength=replicas)
    out["busy_fraction"] = busy / duration_s if duration_s > 0 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_batch_size"] = np.where(steps > 0, seqs / np.where(steps > 0, steps, 1), 0.0)
    out["iterations"] = steps.astype(np.int64)
    out["kv_use_mean"] = out["kv_use_peak"] = out["queue_mean"] = np.nan
    if tiers is not None and len(tiers):
        t = tiers[tiers["tier"].astype(str) == hbm]
        use = t["used_bytes"].to_numpy(dtype=float) / t["capacity_bytes"].to_numpy(dtype=float)
        g = pd.DataFrame({"replica": t["replica"].to_numpy(dtype=np.int64), "use": use,
                          "waiting": t["waiting"].to_numpy(dtype=float)}).groupby("replica")
        out["kv_use_mean"] = g["use"].mean().reindex(idx)
        out["kv_use_peak"] = g["use"].max().reindex(idx)
        out["queue_mean"] = g["waiting"].mean().reindex(idx)
    hits = _by(requests, rep, "prefix_hit_blocks", replicas)
    looked = _by(requests, rep, "prefix_blocks", replicas)
    hit_tok = _by(requests, rep, "prefix_hit_tokens", replicas)
    tok = _by(requests, rep, "input_tokens", replicas)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["prefix_hit_ratio"] = np.where(looked > 0, hits / np.where(looked > 0, looked, 1), 0.0)
        out["prefix_hit_token_ratio"] = np.where(tok > 0, hit_tok / np.where(tok > 0, tok, 1), 0.0)
    return out.reset_index()


def _by(df: pd.DataFrame, rep: np.ndarray, col: str, n: int) -> np.ndarray:
    keep = rep >= 0
    return np.bincount(rep[keep], weights=df[col].to_numpy(dtype=float)[keep], minlength=n)[:n]


def kv_transfer_summary(requests: pd.DataFrame) -> dict[str, float]:
    """Totals of the prefill-to-decode handoff: bytes moved, time on the wire, time held on the prefill side.

    Reads ``kv_transfer_bytes``, ``kv_transfer_s`` (first byte sent to last byte in)
    and ``kv_held_s`` (KV waiting on the prefill replica for decode blocks); rows of
    mixed replicas carry 0 bytes and NaN times.
    """
    b = requests["kv_transfer_bytes"].to_numpy(dtype=float)
    moved = b > 0
    s = requests["kv_transfer_s"].to_numpy(dtype=float)[moved]
    held = requests["kv_held_s"].to_numpy(dtype=float)
    held_pos = held[np.isfinite(held) & (held > 0)]
    return {
        "kv_transfer_bytes": float(b.sum()),
        "kv_transfers": int(moved.sum()),
        "kv_transfer_mean_s": float(s.mean()) if s.size else math.nan,
        "kv_transfer_p99_s": float(np.percentile(s, 99)) if s.size else math.nan,
        "kv_held_requests": int(held_pos.size),
        "kv_held_mean_s": float(held_pos.mean()) if held_pos.size else 0.0,
    }
