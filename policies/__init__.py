"""Every decision the engine delegates, as small classes registered by name.

Families: eviction, admission, prefetch, KV allocation/write/promotion/load/overlap,
KV compression, attention tiling, flash weight loading, offload placement.
``register(kind)`` adds a policy; ``create(kind, spec)`` builds one from a YAML
spec; ``load_plugin(module)`` imports a module of the user's policies (what
``--plugin`` does).  Policies never import the engine.
"""
from .registry import (
                       KINDS,
                       PLUGINS_ENV,
                       check_spec,
                       create,
                       describe,
                       get,
                       kinds,
                       load_entry_points,
                       load_plugin,
                       names,
                       protocol_for,
                       register,
)

__all__ = ["KINDS", "PLUGINS_ENV", "check_spec", "create", "describe", "get", "kinds",
           "load_entry_points", "load_plugin", "names", "protocol_for", "register"]
