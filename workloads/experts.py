"""Which experts each token of an MoE model uses, layer by layer: a seeded router or a trace.

A routing is an int array ``[tokens, layers, active]`` of expert ids, distinct within
each (token, layer) row, in the router's order (top-1 first).  ``synthetic_routing``
draws one with per-layer Zipf-like popularity (``skew``) and a layer-to-layer
affinity (``correlation``: the chance that a slot follows a fixed successor of the
previous layer's expert); ``read_expert_trace`` reads a measured one (CSV or Parquet,
columns ``token, layer, expert``; docs/weights-experts.md) and ``write_expert_trace``
writes one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from memsim.ground.errors import ConfigError, TraceError

__all__ = ["synthetic_routing", "popularity", "successors", "read_expert_trace",
           "write_expert_trace", "TRACE_COLUMNS"]

#: The columns an expert-trace file must have (long format: one row per token, layer, slot).
TRACE_COLUMNS = ("token", "layer", "expert")


def _check_shape(layers: int, experts: int, active: int) -> None:
    for name, v in (("layers", layers), ("experts", experts), ("active", active)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name}={v!r} must be an int >= 1", field=name)
    if active > experts:
        raise ConfigError(f"active={active} exceeds experts={experts}", field="active")


def popularity(experts: int, skew: float, rank_of: np.ndarray) -> np.ndarray:
    """Routing probability of each expert of one layer: ``(rank + 1) ** -skew``, normalised.

    ``rank_of[e]`` is expert ``e``'s popularity rank (0 = hottest); ``skew = 0`` is uniform.
    """
    w = (rank_of.astype(np.float64) + 1.0) ** -float(skew)
    return w / w.sum()


def successors(ranks: np.ndarray) -> np.ndarray:
    """The fixed layer-to-layer mapping ``succ[l, e]``: the expert of layer ``l + 1`` that
    has the popularity rank expert ``e`` has in layer ``l`` (so following it keeps the skew)."""
    order = np.argsort(ranks, axis=1)              # order[l, r] = expert of rank r in layer l
    layers = ranks.shape[0]
    succ = np.empty_like(ranks)
    for layer in range(layers - 1):
        succ[layer] = order[layer + 1][ranks[layer]]
    succ[-1] = np.arange(ranks.shape[1])           # no layer after the last: identity, unused
    return succ


def synthetic_routing(*, tokens: int, layers: int, experts: int, active: int,
                      skew: float = 0.0, correlation: float = 0.0,
                      rng: np.random.Generator) -> np.ndarray:
    """Draw a routing ``[tokens, layers, active]`` (int16) from a seeded synthetic router.

    Per layer, experts get a random popularity order and Zipf-like probabilities
    ``popularity(experts, skew, ...)``.  Layer 0's experts are ``active`` draws
    without replacement (Gumbel top-k, i.e. a noisy top-k router).  In every later
    layer each slot, with probability ``correlation``, follows the successor
    ``successors(...)[l - 1, e]`` of the previous layer's expert in that slot
    (``correlation = 1``: a deterministic successor chain); the other slots are
    drawn as in layer 0 from the experts not already chosen.

    The successor map keeps popularity ranks, so with ``active = 1`` every layer's
    marginal is exactly the Zipf law whatever ``correlation`` is.
    """
    _check_shape(layers, experts, active)
    if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)) or tokens < 1:
        raise ConfigError(f"tokens={tokens!r} must be an int >= 1", field="tokens")
    if not (np.isfinite(skew) and skew >= 0):
        raise ConfigError(f"skew={skew!r} must be >= 0", field="skew")
    if not 0.0 <= correlation <= 1.0:
        raise ConfigError(f"correlation={correlation!r} must lie in [0, 1]", field="correlation")
    # ranks[l, e] = popularity rank of expert e in layer l (a random order per layer)
    ranks = np.argsort(rng.random((layers, experts)), axis=1).argsort(axis=1)
    succ = successors(ranks)
    logp = np.log(np.stack([popularity(experts, skew, ranks[lay]) for lay in range(layers)]))
    out = np.empty((tokens, layers, active), dtype=np.int16)
    for layer in range(layers):
        keys = logp[layer][None, :] + rng.gumbel(size=(tokens, experts))
        if layer == 0 or correlation == 0.0:
            follow = np.zeros((tokens, active), dtype=bool)
        else:
            follow = rng.random((tokens, active)) < correlation
        followed = succ[layer - 1][out[:, layer - 1, :]] if layer else np.zeros_like(follow, np.int64)
        tt, ss = np.nonzero(follow)
        keys[tt, followed[tt, ss]] = -np.inf          # a followed expert is not drawn again
        top = np.argsort(-keys, axis=1, kind="stable")[:, :active]
        pos = np.cumsum(~follow, axis=1) - 1            # the rank among free slots
        drawn = np.take_along_axis(top, np.clip(pos, 0, active - 1), axis=1)
        out[:, layer, :] = np.where(follow, followed, drawn)
    return out


# ---- the trace file -------------------------------------------------------------------------
def _is_int(v) -> bool:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return True
    if isinstance(v, float):
        return v.is_integer()
    return isinstance(v, str) and v.strip().lstrip("-").isdigit()


def _read_table(path: Path):
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pq.read_table(path)
            unit, first = "row", 1
        elif suffix in (".csv", ".gz") or path.name.lower().endswith(".csv.gz"):
            table = pacsv.read_csv(path)
            unit, first = "line", 2                      # line 1 is the header
        else:
            raise TraceError(f"unknown expert-trace format {path.suffix!r}; use .csv, .csv.gz or "
                             ".parquet", file=str(path))
    except TraceError:
        raise
    except FileNotFoundError:
        raise TraceError("no such file", file=str(path)) from None
    except Exception as e:   # pyarrow's parse errors: one line, naming the file
        raise TraceError(f"cannot read the expert trace: {type(e).__name__}: {e}", file=str(path)) from None
    missing = [c for c in TRACE_COLUMNS if c not in table.column_names]
    if missing:
        raise TraceError(f"missing column(s) {', '.join(missing)}; an expert trace has columns "
                         f"{', '.join(TRACE_COLUMNS)}", file=str(path), field=f"{unit} 1" if unit == "line" else None)
    cols = {}
    if table.num_rows == 0:
        raise TraceError("the expert trace has no rows", file=str(path))
    for c in TRACE_COLUMNS:
        col = table.column(c)
        if col.null_count:
            bad = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise TraceError(f"{c} is empty", file=str(path), field=f"{unit} {bad + first}")
        arr = col.to_numpy(zero_copy_only=False)
        if not np.issubdtype(arr.dtype, np.integer):
            bad = next((i for i, v in enumerate(arr.tolist()) if not _is_int(v)), None)
            if bad is not None:
                raise TraceError(f"{c} {arr.tolist()[bad]!r} is not an integer", file=str(path),
                                 field=f"{unit} {bad + first}")
            arr = np.array([int(v) for v in arr.tolist()], dtype=np.int64)
        cols[c] = arr.astype(np.int64)
    return cols, unit, first


def read_expert_trace(path: str | Path, *, layers: int, experts: int, active: int) -> np.ndarray:
    """Read an expert trace into a routing ``[tokens, layers, active]`` (int16).

    The file has one row per (token, layer, slot): tokens numbered 0, 1, ... in the
    order the model ran them, rows sorted by token then layer, each (token, layer)
    with exactly ``active`` distinct experts in ``0 .. experts - 1``, every layer
    present for every token.  The first broken row raises a one-line TraceError
    naming the file and its line (CSV, counting the header) or row (Parquet).
    """
    _check_shape(layers, experts, active)
    path = Path(path)
    cols, unit, first = _read_table(path)
    tok, lay, exp = cols["token"], cols["layer"], cols["expert"]
    n = len(tok)

    def fail(i: int, problem: str):
        raise TraceError(problem, file=str(path), field=f"{unit} {int(i) + first}")

    for name, arr, hi in (("token", tok, None), ("layer", lay, layers), ("expert", exp, experts)):
        bad = np.flatnonzero((arr < 0) | (arr >= hi if hi is not None else False))
        if bad.size:
            i = bad[0]
            rng_text = "must be >= 0" if hi is None else f"must lie in 0..{hi - 1}"
            fail(i, f"{name} {arr[i]} {rng_text}")
    # the expected position of row i: token i // (L*k), layer (i // k) % L
    want_tok = np.arange(n) // (layers * active)
    want_lay = (np.arange(n) // active) % layers
    bad = np.flatnonzero((tok != want_tok) | (lay != want_lay))
    if bad.size:
        i = bad[0]
        fail(i, f"token {tok[i]} layer {lay[i]}: expected token {want_tok[i]} layer {want_lay[i]} "
                f"(rows sorted by token then layer, {active} rows per token and layer, "
                f"tokens numbered from 0 without gaps)")
    if n % (layers * active):
        fail(n - 1, f"token {tok[-1]} is incomplete: {n % (layers * active)} of {layers * active} "
                    f"rows (layers x active experts)")
    routing = exp.reshape(-1, layers, active)
    srt = np.sort(routing, axis=2)
    dup = np.flatnonzero((np.diff(srt, axis=2) == 0).any(axis=2).ravel())
    if dup.size:
        t, layer = divmod(int(dup[0]), layers)
        fail((t * layers + layer) * active, f"token {t} layer {layer} names the same expert twice")
    return routing.astype(np.int16)


def write_expert_trace(path: str | Path, routing: np.ndarray) -> Path:
    """Write a routing ``[tokens, layers, active]`` as an expert trace (``.csv`` or ``.parquet``)."""
    routing = np.asarray(routing)
    if routing.ndim != 3:
        raise ConfigError(f"routing has shape {routing.shape}; expected [tokens, layers, active]",
                          field="routing")
    t, lay, k = routing.shape
    idx = np.indices((t, lay, k)).reshape(3, -1)
    cols = {"token": idx[0].astype(np.int64), "layer": idx[1].astype(np.int64),
            "expert": routing.reshape(-1).astype(np.int64)}
    path = Path(path)
    table = pa.table(cols)
    if path.suffix.lower() == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path
