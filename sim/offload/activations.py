"""Per-token FFN neuron activations: which neurons of each layer fire for each token.

A synthetic trace makes every neuron a two-state Markov chain (stationary
``activation_rate``; an active neuron stays active with probability
``correlation``); a recorded trace is a NumPy bool array ``[tokens, layers, neurons]``.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from memsim.ground.errors import ConfigError, TraceError, check_fraction

__all__ = ["synthetic_activations", "load_activations", "markov_rates"]


def markov_rates(activation_rate: float, correlation: float) -> tuple[float, float]:
    """(P(on | on), P(on | off)) of the chain whose stationary on-probability is the rate."""
    r = check_fraction("activation_rate", activation_rate, open_low=True)
    c = check_fraction("correlation", correlation)
    if r == 1.0:
        return 1.0, 1.0
    turn_on = r * (1.0 - c) / (1.0 - r)
    if turn_on > 1.0:
        raise ConfigError(f"correlation={c!r} is too low for activation_rate={r!r}: "
                          f"an inactive neuron would have to turn on with probability "
                          f"{turn_on:.3g} > 1; use correlation >= {(2 * r - 1) / r:.3g}",
                          field="correlation")
    return c, turn_on


def synthetic_activations(*, tokens: int, layers: int, neurons: int, activation_rate: float,
                          correlation: float, rng: np.random.Generator) -> Iterable[np.ndarray]:
    """An iterable of ``tokens`` bool arrays ``[layers, neurons]``, one per generated token.

    The first token is drawn from the stationary distribution, so every token has
    ``activation_rate`` of the neurons active in expectation; ``correlation`` is the
    probability that a neuron active for one token is active for the next.  Arguments
    are checked here, before the first token is drawn.
    """
    stay, turn_on = markov_rates(activation_rate, correlation)
    for name, v in (("tokens", tokens), ("layers", layers), ("neurons", neurons)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name}={v!r} must be an int >= 1", field=name)
    return _MarkovTrace(int(tokens), int(layers), int(neurons), activation_rate, stay,
                        turn_on, rng)


class _MarkovTrace:
    """The synthetic trace: iterable once, with a length (drawn lazily, one token at a time)."""

    def __init__(self, tokens, layers, neurons, rate, stay, turn_on, rng):
        self._args = (tokens, layers, neurons, rate, stay, turn_on)
        self._rng = rng

    def __len__(self) -> int:
        return self._args[0]

    def __iter__(self):
        tokens, layers, neurons, rate, stay, turn_on = self._args
        active = self._rng.random((layers, neurons)) < rate
        yield active
        for _ in range(tokens - 1):
            u = self._rng.random((layers, neurons))
            active = np.where(active, u < stay, u < turn_on)
            yield active


def load_activations(path: str | Path, *, layers: int, neurons: int,
                     tokens: int | None = None) -> np.ndarray:
    """Per-token ``[layers, neurons]`` bool arrays from a ``.npy`` or ``.npz`` file.

    The array must be boolean (or 0/1 integers) of shape ``[tokens, layers, neurons]``
    matching the model; an ``.npz`` holds it under the key ``active`` (or as its only
    array).  ``tokens`` keeps only the first that many.
    """
    p = Path(path)
    try:
        data = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise TraceError("file not found", file=str(p)) from None
    except (ValueError, OSError) as e:
        raise TraceError(f"not a NumPy .npy/.npz file ({e})", file=str(p)) from None
    if isinstance(data, np.lib.npyio.NpzFile):
        keys = list(data.files)
        if "active" in keys:
            arr = data["active"]
        elif len(keys) == 1:
            arr = data[keys[0]]
        else:
            raise TraceError(f"no array named 'active'; arrays: {', '.join(keys)}", file=str(p))
    else:
        arr = data
    if arr.ndim != 3:
        raise TraceError(f"shape {arr.shape} should be [tokens, layers, neurons]", file=str(p))
    if arr.shape[1:] != (layers, neurons):
        raise TraceError(f"shape {arr.shape} does not match the model: expected "
                         f"[tokens, {layers}, {neurons}]", file=str(p))
    if arr.dtype != bool:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise TraceError(f"dtype {arr.dtype} with values other than 0/1; expected bool",
                             file=str(p))
        arr = arr.astype(bool)
    if arr.shape[0] < 1:
        raise TraceError("no tokens in the trace", file=str(p))
    n = arr.shape[0] if tokens is None else min(int(tokens), arr.shape[0])
    return arr[:n]
