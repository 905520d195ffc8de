"""Every decision the engine delegates, as small classes registered by name.

Families: eviction, admission, placement/offload, prefetch, KV allocation, KV
compression, attention tiling.  ``register(kind)`` adds a policy; ``create(kind,
spec)`` builds one from a YAML spec.  Policies never import the engine.
"""
from .registry import KINDS, create, describe, get, kinds, load_entry_points, names, register

__all__ = ["KINDS", "create", "describe", "get", "kinds", "load_entry_points", "names", "register"]
