"""Shared pieces of the built-in routers: deterministic arg-min with rotating ties, load signals."""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["argmin_rotating", "argmax_rotating", "kv_use_fraction"]


def argmin_rotating(keys: Sequence, start: int) -> int:
    """Position of the smallest key; among equal keys, the first at or after ``start`` (cyclically).

    Rotating the tie-break spreads equal replicas evenly instead of always favouring
    replica 0, and stays deterministic.  One pass: O(len(keys)).
    """
    n = len(keys)
    start %= n
    best = start
    best_key = keys[start]
    for step in range(1, n):
        i = start + step
        if i >= n:
            i -= n
        if keys[i] < best_key:
            best, best_key = i, keys[i]
    return best


def argmax_rotating(keys: Sequence, start: int) -> int:
    """Position of the largest key, ties broken as in ``argmin_rotating``."""
    n = len(keys)
    start %= n
    best = start
    best_key = keys[start]
    for step in range(1, n):
        i = start + step
        if i >= n:
            i -= n
        if keys[i] > best_key:
            best, best_key = i, keys[i]
    return best


def kv_use_fraction(view) -> float:
    """Fraction of a replica's HBM KV blocks in use (comparable across pools of different sizes)."""
    total = view.kv_blocks_total
    return view.kv_blocks_used / total if total > 0 else 1.0
