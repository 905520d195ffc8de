"""Count an attention algorithm's SRAM <-> HBM traffic: closed form, or tile by tile.

``attention_io`` asks the algorithm for its closed-form counts; ``simulate_tiles``
walks its loop nest on an ``Sram`` of M elements and counts every load and store.
The two must agree exactly -- the tests check it over many sizes.
"""
from __future__ import annotations

import inspect

from memsim.ground.errors import ConfigError, check_positive
from memsim.policies.registry import create

from .bounds import lower_bound
from .result import AttentionIO
from .sram import Sram

__all__ = ["attention_io", "simulate_tiles", "resolve_algorithm", "prepare"]


def _check_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{name}={v!r} must be a positive integer", field=name)
    check_positive(name, v)
    return v


def resolve_algorithm(algo, *, block_rows=None, block_cols=None):
    """An algorithm instance from a registry name, a class, or an instance."""
    if isinstance(algo, str) or inspect.isclass(algo):
        params = {k: v for k, v in (("block_rows", block_rows), ("block_cols", block_cols))
                  if v is not None}
        if isinstance(algo, str):
            return create("attention", {"name": algo, **params})
        return algo(**params)
    if block_rows is not None or block_cols is not None:
        raise ConfigError("block sizes go to the algorithm's constructor when passing an "
                          "instance", field="block_rows")
    return algo


def prepare(algo, *, n, d, sram_elems, heads=1, batch=1, dtype_bytes=2, block_rows=None,
            block_cols=None):
    """Validate arguments; return ``(algorithm, block_rows, block_cols)``."""
    for name, v in (("n", n), ("d", d), ("sram_elems", sram_elems), ("heads", heads),
                    ("batch", batch), ("dtype_bytes", dtype_bytes)):
        _check_int(name, v)
    alg = resolve_algorithm(algo, block_rows=block_rows, block_cols=block_cols)
    br, bc = alg.tiles(n=n, d=d, sram_elems=sram_elems)
    return alg, br, bc


def _result(alg, *, n, d, sram_elems, heads, batch, dtype_bytes, br, bc, reads, writes,
            index_bytes, peak, flop) -> AttentionIO:
    hb = heads * batch
    return AttentionIO(
        algo=alg.name, n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
        dtype_bytes=dtype_bytes, block_rows=br, block_cols=bc,
        reads=reads * hb, writes=writes * hb, index_bytes=index_bytes * hb,
        lower_bound=lower_bound(n, d, sram_elems, heads=heads, batch=batch,
                                decode=bool(getattr(alg, "decode", False))),
        peak_sram_elems=peak, flops=flop * hb,
        hbm_scratch_elems=alg.hbm_scratch_elems(n=n, d=d, block_rows=br, block_cols=bc) * hb)


def attention_io(algo, *, n: int, d: int, sram_elems: int, heads: int = 1, batch: int = 1,
                 dtype_bytes: int = 2, block_rows: int | None = None,
                 block_cols: int | None = None) -> AttentionIO:
    """Closed-form I/O of ``algo`` (a name such as ``"flash2"``, a class or an instance).

    ``n`` is the sequence length (the KV length for ``decode``/``decode_paged``), ``d``
    the head dimension, ``sram_elems`` the fast memory M of one SM in elements.
    Block sizes default to the algorithm's rule for M; a working set that cannot
    fit raises ``ConfigError``.

    >>> r = attention_io("flash2", n=1024, d=64, sram_elems=16384)
    >>> (r.block_rows, r.block_cols, r.reads, r.writes)
    (52, 52, 2686976, 66560)
    """
    alg, br, bc = prepare(algo, n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                          dtype_bytes=dtype_bytes, block_rows=block_rows, block_cols=block_cols)
    reads, writes, index_bytes = alg.counts(n=n, d=d, block_rows=br, block_cols=bc)
    peak = alg.footprint_elems(n=n, d=d, block_rows=br, block_cols=bc)
    return _result(alg, n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                   dtype_bytes=dtype_bytes, br=br, bc=bc, reads=reads, writes=writes,
                   index_bytes=index_bytes, peak=peak, flop=alg.flops(n=n, d=d))


def walk(alg, *, n, d, sram_elems, br, bc, record=False) -> Sram:
    """Run one (batch, head) pair's loop nest on a fresh ``Sram``; return it."""
    mem = Sram(capacity_elems=sram_elems, record=record)
    alg.walk(mem, n=n, d=d, block_rows=br, block_cols=bc)
    return mem


def simulate_tiles(algo, *, n: int, d: int, sram_elems: int, heads: int = 1, batch: int = 1,
                   dtype_bytes: int = 2, block_rows: int | None = None,
                   block_cols: int | None = None) -> AttentionIO:
    """Event-level I/O: walk the loop nest tile by tile on a fast memory of M elements.

    Every load and store is counted as it happens and the fast memory asserts that
    its buffers never exceed M.  All ``batch * heads`` pairs run the same loop
    nest, so one is walked and the counts multiplied.  Same arguments and result
    type as ``attention_io``; the counts must be identical.
    """
    alg, br, bc = prepare(algo, n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                          dtype_bytes=dtype_bytes, block_rows=block_rows, block_cols=block_cols)
    mem = walk(alg, n=n, d=d, sram_elems=sram_elems, br=br, bc=bc)
    assert not mem.buffers or mem.used_elems <= sram_elems
    return _result(alg, n=n, d=d, sram_elems=sram_elems, heads=heads, batch=batch,
                   dtype_bytes=dtype_bytes, br=br, bc=bc, reads=mem.reads, writes=mem.writes,
                   index_bytes=mem.index_bytes, peak=mem.peak_elems, flop=mem.flop)
