"""Numba replay kernels: one module per standard policy, each with a pure-Python twin.

``KERNELS`` maps an eviction policy's registry name to its module; a module's
``run(policy, ids, sizes, n_ids, hit, next_access, ref=False)`` (``ttl`` also takes
``times_s``) replays dense
int64 ids with the parameters of the Python ``policy`` instance and returns the
hit count (``hit`` gets 1 per hit).  Only these modules import numba.
"""
from __future__ import annotations

import importlib

__all__ = ["KERNELS", "kernel_for"]

#: registry name -> module under policies.fast
KERNELS = {"lru": "lru", "fifo": "fifo", "clock": "clock", "lfu": "lfu", "arc": "arc",
           "2q": "twoq", "slru": "slru", "s3fifo": "s3fifo", "sieve": "sieve",
           "belady": "belady", "advice": "advice", "ttl": "ttl"}


def kernel_for(policy):
    """The fast module for a built-in policy instance, or None (user classes)."""
    name = getattr(type(policy), "name", None)
    mod = KERNELS.get(name)
    if mod is None or not type(policy).__module__.startswith("memsim.policies.eviction."):
        return None
    return importlib.import_module(f"{__name__}.{mod}")
