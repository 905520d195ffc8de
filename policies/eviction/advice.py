"""Advice: evict keys a one-bit predictor marked "safe to evict", else fall back to LRU.

The bit for access i says whether Belady (at this capacity) keeps ``keys[i]``
until its next access; ``prepare`` derives it from the future and flips each
bit with probability ``error_rate`` using a Generator seeded with ``seed``.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from memsim.ground.errors import ConfigError, check_fraction, check_positive

from ..fast.belady import discard_bits
from ..registry import register
from ._scan import first_allowed

__all__ = ["Advice"]


@register("eviction")
class Advice:
    """Evict the least recently used key predicted safe to evict; with none, the LRU key.

    Models: the discard predictions of "Paging with Succinct Predictions" (Antoniadis, Boyar, Eliáš, Favrholdt, Hoeksma, Larsen, Polak, Simon; ICML 2023).
    Each request carries one bit, "safe to evict this page" (OPT evicts it before
    its next request), from a predictor that errs with probability ``error_rate``.
    Parameters:
        capacity: cache size in the caller's unit (also the OPT cache the bits come from).
        error_rate: probability each predicted bit is flipped (default 0.0).
        seed: seed of the numpy Generator that draws the errors (default 0).
    Differs from the paper: follows the predictions with an LRU fallback instead
    of the paper's marking-based robust algorithm, so it is consistent and smooth
    but not robust (a bad predictor can do worse than LRU's competitive bound).
    """

    name = "advice"

    def __init__(self, *, capacity: int, error_rate: float = 0.0, seed: int = 0):
        self.capacity = check_positive("capacity", capacity)
        self.error_rate = check_fraction("error_rate", error_rate)
        self.seed = seed
        self._bits = None
        self._bit = None
        self._safe: OrderedDict = OrderedDict()     # predicted safe, LRU first
        self._unsafe: OrderedDict = OrderedDict()

    def __repr__(self) -> str:
        return f"Advice(capacity={self.capacity}, error_rate={self.error_rate}, seed={self.seed})"

    def __len__(self) -> int:
        return len(self._safe) + len(self._unsafe)

    def __contains__(self, key) -> bool:
        return key in self._safe or key in self._unsafe

    def prepare(self, keys, sizes, next_access) -> None:
        keys = np.asarray(keys)
        if keys.dtype.kind not in "iu":
            keys = np.unique(keys, return_inverse=True)[1]
        sizes = np.ones(len(keys), np.int64) if sizes is None else np.asarray(sizes, np.int64)
        bits = discard_bits(keys.astype(np.int64), sizes, int(self.capacity),
                            np.asarray(next_access, np.int64))
        rng = np.random.default_rng(self.seed)
        flip = rng.random(len(bits)) < self.error_rate
        self._bits = bits ^ flip

    def seek(self, i: int) -> None:
        self._bit = bool(self._bits[i])

    def _place(self, key, size) -> None:
        if self._bit is None:
            raise ConfigError("advice needs per-request predictions: replay it with "
                              "memsim.policies.replay (or call prepare()/seek())")
        (self._safe if self._bit else self._unsafe)[key] = size

    def on_insert(self, key, size: int, now_s: float) -> None:
        assert key not in self, f"{key!r} inserted twice"
        self._place(key, size)

    def on_hit(self, key, now_s: float) -> None:
        size = self._safe.pop(key) if key in self._safe else self._unsafe.pop(key)
        self._place(key, size)

    def victim(self, now_s: float, can_evict=None):
        k = first_allowed(self._safe, can_evict)
        return k if k is not None else first_allowed(self._unsafe, can_evict)

    def on_remove(self, key) -> None:
        if key in self._safe:
            del self._safe[key]
        else:
            del self._unsafe[key]

    def check(self) -> None:
        assert not (set(self._safe) & set(self._unsafe))
