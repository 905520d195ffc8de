"""``--algo auto``: search algorithms and tile sizes for the least I/O or the least time.

Candidates are each algorithm's default tiles plus power-of-two tile sizes that
fit in M.  Without a machine the smallest closed-form I/O wins; with one, the
candidates are ranked by a roofline estimate; the best few, the least-I/O one and
each algorithm's default tiles are replayed tile by tile (``predict_time``) and
the fastest wins.
"""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from .attention import attention_io
from .result import AttentionIO
from .timing import predict_time

__all__ = ["ALGOS", "auto", "candidates"]

#: The self-attention algorithms ``auto`` chooses among (decode is a different problem).
ALGOS = ("flash2", "flash1", "small_m", "naive", "chunked")


def _powers(hi: int) -> list[int]:
    out, b = [], 1
    while b <= hi:
        out.append(b)
        b *= 2
    return out


def candidates(*, n, d, sram_elems, heads=1, batch=1, dtype_bytes=2,
               algos=ALGOS) -> list[AttentionIO]:
    """Every (algorithm, tile) that fits: defaults first, then power-of-two tiles."""
    out: dict[tuple, AttentionIO] = {}
    common = dict(n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                  dtype_bytes=dtype_bytes)
    for algo in algos:
        tries = [(None, None)]
        cols_hi = max(n, d) if algo == "small_m" else n
        tries += [(r, c) for r in _powers(n) for c in _powers(cols_hi)]
        for br, bc in tries:
            try:
                r = attention_io(algo, block_rows=br, block_cols=bc, **common)
            except ConfigError:
                continue
            out.setdefault((r.algo, r.block_rows, r.block_cols), r)
    if not out:
        raise ConfigError(f"no attention algorithm fits sram_elems={sram_elems} with d={d}",
                          field="sram_elems")
    return list(out.values())


def auto(*, n: int, d: int, sram_elems: int, heads: int = 1, batch: int = 1,
         dtype_bytes: int = 2, algos=ALGOS, machine=None, double_buffer: bool = True,
         replay: int = 6) -> tuple[AttentionIO, float | None]:
    """The best candidate and its predicted seconds (``None`` without a machine).

    ``machine`` is a ``memsim.sim.kernel.Machine`` (see ``machine_from_platform``); without
    it the objective is I/O.  Ties go to fewer bytes, then the order of ``algos``.
    """
    cands = candidates(n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                       dtype_bytes=dtype_bytes, algos=algos)
    order = {a: i for i, a in enumerate(algos)}

    def key_io(r):
        return (r.io_bytes, order.get(r.algo, len(order)), r.block_rows, r.block_cols)
    if machine is None:
        return min(cands, key=key_io), None

    ranked = sorted(cands, key=lambda r: (max(r.io_bytes / machine.hbm_bw,
                                              r.flops / machine.flops),) + key_io(r))
    # Replay the best few by roofline, the least-I/O one and every algorithm's default.
    chosen = ranked[:replay] + [min(cands, key=key_io)]
    defaults = {}
    for r in cands:
        defaults.setdefault(r.algo, r)                     # candidates() lists defaults first
    chosen += list(defaults.values())
    seen, best, best_t = set(), None, None
    for r in chosen:
        k = (r.algo, r.block_rows, r.block_cols)
        if k in seen:
            continue
        seen.add(k)
        t = predict_time(r, hbm_bw=machine.hbm_bw, flops=machine.flops, sram_bw=machine.sram_bw,
                         sm_count=machine.sm_count, double_buffer=double_buffer)
        if best_t is None or (t, key_io(r)) < (best_t, key_io(best)):
            best, best_t = r, t
    return best, best_t
