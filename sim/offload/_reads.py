"""Turn a per-layer mask of neurons to load into flash reads (sizes and counts per layer).

Neurons next to each other in storage are read together: a run of ``k`` adjacent
neurons becomes one read of ``k`` units (split at ``max_read_bytes``), repeated
once per matrix when the layout is not bundled.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plan_reads"]


def plan_reads(load: np.ndarray, *, unit_bytes: int, reads_per_run: int,
               max_read_bytes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads for ``load`` (bool ``[layers, neurons]``), as parallel arrays.

    Returns ``(layer, size_bytes, count)``: ``count`` reads of ``size_bytes`` in
    ``layer``; one row per distinct (layer, size).  ``unit_bytes`` is one neuron's
    bytes in one read; ``reads_per_run`` is 1 for bundled storage, else the number
    of FFN matrices.
    """
    layers, neurons = load.shape
    pad = np.zeros((layers, neurons + 2), dtype=np.int8)
    pad[:, 1:-1] = load
    step = np.diff(pad, axis=1).ravel()
    width = neurons + 1
    starts = np.flatnonzero(step == 1)  # row-major, so run i starts at starts[i], ends at ends[i]
    ends = np.flatnonzero(step == -1)
    sr = starts // width
    assert np.array_equal(sr, ends // width)
    run = (ends - starts).astype(np.int64)
    if run.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    max_units = max(1, int(max_read_bytes) // int(unit_bytes))
    full, rest = np.divmod(run, max_units)
    # each run yields `full` reads of max_units and, if rest > 0, one read of `rest`
    layer = np.concatenate([sr[full > 0], sr[rest > 0]])
    units = np.concatenate([np.full(int((full > 0).sum()), max_units, dtype=np.int64),
                            rest[rest > 0]])
    count = np.concatenate([full[full > 0], np.ones(int((rest > 0).sum()), dtype=np.int64)])
    key = layer * (max_units + 1) + units
    uniq, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv, weights=count).astype(np.int64) * int(reads_per_run)
    return uniq // (max_units + 1), (uniq % (max_units + 1)) * int(unit_bytes), counts
