"""Helpers shared by the eviction policies: pinned-aware scans and CLOCK simulation.

A CLOCK-like scan moves keys while it looks for a victim; ``victim()`` must not
change anything, so the scan runs on a virtual view here and returns a *plan*
(the moves it would make) that ``on_remove`` commits when the caller evicts.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Optional

__all__ = ["first_allowed", "clock_plan"]


def first_allowed(keys: Iterable[Hashable], can_evict) -> Optional[Hashable]:
    """The first key in ``keys`` that ``can_evict`` allows (all if it is None)."""
    for k in keys:
        if can_evict is None or can_evict(k):
            return k
    return None


def clock_plan(order: Iterable[Hashable], freq: Callable[[Hashable], int], can_evict,
               cap: int = 10**9):
    """Simulate a CLOCK/FIFO-reinsertion scan over ``order`` (oldest first).

    A key with counter ``f >= 1`` is moved to the newest end with ``min(f, cap) - 1``;
    the first key met with counter 0 is the victim.  Pinned keys are skipped and
    stay where they are.  Returns ``(victim or None, plan)`` where ``plan`` lists
    ``(key, new_counter)`` moves in the order they happen.
    """
    vfreq: dict = {}
    plan: list = []
    for k in order:
        if can_evict is not None and not can_evict(k):
            continue
        f = freq(k)
        if f <= 0:
            return k, plan
        nf = min(f, cap) - 1
        vfreq[k] = nf
        plan.append((k, nf))
    i = 0
    while i < len(plan):
        k, _ = plan[i]
        i += 1
        f = vfreq[k]  # this entry is k's latest position: it is re-appended only here
        if f <= 0:
            return k, plan
        nf = min(f, cap) - 1
        vfreq[k] = nf
        plan.append((k, nf))
    return None, plan

