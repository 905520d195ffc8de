"""Measure every validation configuration and put the prediction beside it.

``cases(quick=)`` lists the configurations; ``run_case`` times one (warm-up, then the
minimum thread CPU time of ``repeats`` runs, with the median and the spread max/min - 1
beside it) and predicts it; ``compare`` does
them all and returns the rows of ``validation.csv``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._memory import huge_empty
from .kernels.attention_naive import attention_naive
from .kernels.attention_tiled import attention_tiled, attention_tiled_counted, tile_buffer_elems
from .kernels.decode_attention import decode_attention
from .kernels.matmul_tiled import matmul_tiled
from .kernels.paged_decode import paged_decode
from .kernels.pointer_chase import chase, make_cycle
from .kernels.stream import stream_sum
from .microbench import time_call, time_stats
from .predict import Predictor

__all__ = ["Case", "cases", "run_case", "compare", "summarize", "COLUMNS"]

COLUMNS = ["kernel", "params", "measured_s", "measured_median_s", "spread", "predicted_s", "rel_error",
           "measured_elems", "predicted_elems", "level", "bytes_moved", "flop", "accounting"]

KiB, MiB = 1024, 1024 ** 2


@dataclass(frozen=True)
class Case:
    """One configuration: a kernel name and its parameters."""

    kernel: str
    params: dict = field(default_factory=dict)


def cases(*, quick: bool) -> list[Case]:
    """The configurations, fixed in advance (quick: smaller and fewer)."""
    out: list[Case] = []
    stream = [16 * KiB * 4 ** i for i in range(8 if quick else 9)]          # 16 KiB .. 256 MiB / 1 GiB
    out += [Case("stream", {"size_bytes": s}) for s in stream]
    chase = [32 * KiB * 8 ** i for i in range(5)]                            # 32 KiB .. 128 MiB
    out += [Case("pointer_chase", {"size_bytes": s}) for s in (chase if quick else chase + [512 * MiB])]
    for n in ([192] if quick else [192, 384]):
        out += [Case("matmul_tiled", {"n": n, "tile": t}) for t in (8, 16, 32, 64)]
    out += [Case("attention_naive", {"n": n, "d": 64}) for n in (256, 512, 1024)]
    tiles = [(16, 16), (32, 32), (64, 64), (128, 128), (64, 16), (16, 64)]
    out += [Case("attention_tiled", {"n": 1024, "d": 64, "block_rows": r, "block_cols": c})
            for r, c in tiles]
    out.append(Case("attention_tiled", {"n": 512, "d": 128, "block_rows": 32, "block_cols": 32}))
    ctx = [256, 4096, 32768] if quick else [256, 4096, 32768, 131072]
    out += [Case("decode", {"heads": 8, "n": n, "d": 128}) for n in ctx]
    for n in ([16384] if quick else [4096, 65536]):
        out += [Case("paged_decode", {"heads": 8, "n": n, "d": 128, "block_tokens": b})
                for b in (16, 32, 64, 128, 256, 512)]
    return out


def _f32(rng, shape):
    a = huge_empty(shape, np.float32)
    a[...] = rng.standard_normal(shape, dtype=np.float32)
    return a


def _target_count(one_run_s: float, target_s: float) -> int:
    return max(1, int(target_s / max(one_run_s, 1e-9)))


def run_case(case: Case, pred: Predictor, rng: np.random.Generator, *, repeats: int,
             target_s: float = 0.02) -> dict:
    """Time one configuration and predict it; returns one row (see ``COLUMNS``)."""
    p = dict(case.params)
    measured_elems = None
    if case.kernel == "stream":
        a = huge_empty(p["size_bytes"] // 4, np.float32)
        a[:] = 1.0
        passes = _target_count(time_call(lambda: stream_sum(a, 1), repeats=1), target_s)
        st = time_stats(lambda: stream_sum(a, passes), repeats=repeats)
        pr = pred.stream(size_bytes=a.nbytes, passes=passes)
        p["passes"] = passes
    elif case.kernel == "pointer_chase":
        n = p["size_bytes"] // 8
        nxt = make_cycle(n, rng, out=huge_empty(n, np.int64))
        lap = n // 8
        pos = [int(chase(nxt, 0, lap))]                     # one lap warms the levels up

        def step(h):
            pos[0] = int(chase(nxt, pos[0], h))
        hops = max(lap, _target_count(time_call(lambda: step(lap), repeats=1, warmup=False) / lap,
                                      target_s))
        st = time_stats(lambda: step(hops), repeats=repeats, warmup=False)
        pr = pred.chase(size_bytes=p["size_bytes"], hops=hops)
        p["hops"] = hops
    elif case.kernel == "matmul_tiled":
        a, b = _f32(rng, (p["n"], p["n"])), _f32(rng, (p["n"], p["n"]))
        c = np.zeros_like(a)
        st = time_stats(lambda: matmul_tiled(a, b, p["tile"], out=c), repeats=repeats)
        pr = pred.matmul(n=p["n"], tile=p["tile"])
    elif case.kernel == "attention_naive":
        q, k, v = (_f32(rng, (p["n"], p["d"])) for _ in range(3))
        s, o = huge_empty((p["n"], p["n"]), np.float32), np.empty_like(q)
        st = time_stats(lambda: attention_naive(q, k, v, s=s, out=o), repeats=repeats)
        pr = pred.attention_naive(n=p["n"], d=p["d"])
    elif case.kernel == "attention_tiled":
        n, d, br, bc = p["n"], p["d"], p["block_rows"], p["block_cols"]
        q, k, v = (_f32(rng, (n, d)) for _ in range(3))
        o = np.empty_like(q)
        st = time_stats(lambda: attention_tiled(q, k, v, br, bc, out=o), repeats=repeats)
        _, counts = attention_tiled_counted(q, k, v, br, bc)
        measured_elems = int(counts.sum())
        # the simulator's model also keeps m_new (br elements) in fast memory
        pr = pred.attention_tiled(n=n, d=d, block_rows=br, block_cols=bc,
                                  sram_elems=tile_buffer_elems(d, br, bc) + br)
    elif case.kernel == "decode":
        h, n, d = p["heads"], p["n"], p["d"]
        q = _f32(rng, (h, d))
        k, v = _f32(rng, (h, n, d)), _f32(rng, (h, n, d))
        sc, o = np.empty(n, np.float32), np.empty_like(q)
        st = time_stats(lambda: decode_attention(q, k, v, scores=sc, out=o), repeats=repeats)
        pr = pred.decode(heads=h, n=n, d=d)
    elif case.kernel == "paged_decode":
        h, n, d, bt = p["heads"], p["n"], p["d"], p["block_tokens"]
        q = _f32(rng, (h, d))
        nblk = -(-n // bt)
        shape = (nblk, h, bt, d)
        k_pool, v_pool = _f32(rng, shape), _f32(rng, shape)
        table = rng.permutation(nblk).astype(np.int64)
        sc, o = np.empty(n, np.float32), np.empty_like(q)
        st = time_stats(lambda: paged_decode(q, k_pool, v_pool, table, n, scores=sc, out=o),
                        repeats=repeats)
        pr = pred.paged_decode(heads=h, n=n, d=d, block_tokens=bt,
                               pool_bytes=k_pool.nbytes + v_pool.nbytes)
    else:
        raise ValueError(f"unknown kernel {case.kernel!r}")
    t, median, worst = st
    return {"kernel": case.kernel, "params": json.dumps(p, sort_keys=True, separators=(",", ":")),
            "measured_s": t, "measured_median_s": median, "spread": worst / t - 1.0, "predicted_s": pr.time_s, "rel_error": (pr.time_s - t) / t,
            "measured_elems": measured_elems, "predicted_elems": pr.elems, "level": pr.level,
            "bytes_moved": pr.bytes_moved, "flop": pr.flop, "accounting": pr.accounting}


def compare(pred: Predictor, *, quick: bool, repeats: int, seed: int = 0,
            progress=None, only: list[Case] | None = None) -> pd.DataFrame:
    """Run every case (or ``only``); ``progress(i, total, row)`` is called after each."""
    rng = np.random.default_rng(seed)
    todo = only if only is not None else cases(quick=quick)
    rows = []
    for i, case in enumerate(todo):
        rows.append(run_case(case, pred, rng, repeats=repeats))
        if progress:
            progress(i + 1, len(todo), rows[-1])
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["measured_elems"] = df["measured_elems"].astype("Int64")
    df["predicted_elems"] = df["predicted_elems"].astype("Int64")
    return df


def summarize(df: pd.DataFrame) -> dict:
    """Median / p90 / max of |rel_error| and the exact-count check."""
    err = df["rel_error"].abs().dropna()
    both = df.dropna(subset=["measured_elems", "predicted_elems"])
    spread = df["spread"].dropna() if "spread" in df.columns else pd.Series(dtype=float)
    return {"configs": int(len(df)), "median_abs_rel_error": float(err.median()),
            "p90_abs_rel_error": float(err.quantile(0.9)), "max_abs_rel_error": float(err.max()),
            "median_spread": float(spread.median()) if len(spread) else None,
            "max_spread": float(spread.max()) if len(spread) else None,
            "counted_configs": int(len(both)),
            "counts_exact": bool((both["measured_elems"] == both["predicted_elems"]).all())}
