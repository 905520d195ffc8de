"""The policy registry: every decision the engine delegates is looked up here by name.

A policy is a class decorated with ``@register(kind)``; its registry name is the
class attribute ``name`` (lowercase snake_case, unique per kind).  Users register
their own from a notebook with the same decorator, or from another package through
the ``memsim.policies`` entry-point group, or name one as ``pkg.module:Class``.

This dict is the only module-level mutable state in memsim.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from memsim.ground.errors import ConfigError

__all__ = ["register", "get", "create", "names", "kinds", "describe", "load_entry_points",
           "KINDS"]

#: The policy families.  Later families register into the same table.
KINDS = ("eviction", "admission", "placement", "prefetch", "allocation", "compression",
         "attention", "write", "promotion", "load", "overlap", "offload", "flash")

_REGISTRY: dict[str, dict[str, type]] = {k: {} for k in KINDS}
_ALIASES: dict[str, dict[str, str]] = {k: {} for k in KINDS}
_entry_points_loaded = False


def register(kind: str, *, aliases: tuple[str, ...] = (), replace: bool = False) -> Callable[[type], type]:
    """Class decorator: add the class to the ``kind`` family under ``cls.name``.

    A duplicate name raises ``ValueError`` at import unless ``replace=True`` (meant
    for re-running a notebook cell that defines the same policy).
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown policy kind {kind!r}; known: {', '.join(KINDS)}")

    def deco(cls: type) -> type:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__qualname__} needs a class attribute `name` to be registered")
        table = _REGISTRY[kind]
        for n in (name, *aliases):
            owner = table.get(n) or (table.get(_ALIASES[kind][n]) if n in _ALIASES[kind] else None)
            if owner is not None and owner is not cls and not replace and \
                    owner.__qualname__ != cls.__qualname__:
                raise ValueError(f"duplicate {kind} policy name {n!r}: {owner.__module__}."
                                 f"{owner.__qualname__} and {cls.__module__}.{cls.__qualname__}")
        table[name] = cls
        for a in aliases:
            _ALIASES[kind][a] = name
        cls.policy_kind = kind
        return cls

    return deco


def _builtins() -> None:
    # Importing the families registers their built-ins.  Families that a later
    # issue adds simply appear here once their package exists.
    for mod in ("memsim.policies.eviction", "memsim.policies.admission", "memsim.policies.attention",
                "memsim.policies.kv", "memsim.policies.compression", "memsim.policies.flash", "memsim.policies.offload"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    load_entry_points()


def load_entry_points() -> None:
    """Import every ``memsim.policies`` entry point once (each registers itself)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points
    for ep in entry_points(group="memsim.policies"):
        ep.load()


def _resolve(kind: str, name: str) -> type:
    if kind not in _REGISTRY:
        raise ConfigError(f"unknown policy kind {kind!r}; known: {', '.join(KINDS)}")
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"cannot load {kind} policy {name!r}: {e}") from None
        if not inspect.isclass(cls):
            raise ConfigError(f"{name!r} is not a class")
        return cls
    _builtins()
    table = _REGISTRY[kind]
    key = _ALIASES[kind].get(name, name)
    if key in table:
        return table[key]
    known = sorted(table) + sorted(_ALIASES[kind])
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {kind} policy {name!r}{hint}; known: {', '.join(sorted(table)) or 'none'}")


def get(kind: str, name: str) -> type:
    """The class registered as ``name`` in ``kind`` (or loaded from ``pkg.module:Class``)."""
    return _resolve(kind, name)


def create(kind: str, spec: Any, **context: Any) -> Any:
    """Instantiate a policy from a spec: ``"lru"``, ``{"name": "s3fifo", "small_fraction": 0.1}``,
    an already-built instance, or a class.

    ``context`` holds engine-provided keyword arguments (e.g. ``capacity``) passed
    only to constructors that accept them.  Bad parameters raise ConfigError naming
    the policy and parameter.
    """
    if spec is None:
        raise ConfigError(f"no {kind} policy given")
    if inspect.isclass(spec):
        cls, params = spec, {}
    elif isinstance(spec, str):
        cls, params = _resolve(kind, spec), {}
    elif isinstance(spec, dict):
        if "name" not in spec:
            raise ConfigError(f"{kind} policy spec needs a `name`", field="name")
        params = {k: v for k, v in spec.items() if k != "name"}
        cls = _resolve(kind, spec["name"])
    else:
        return spec  # an instance built by the user
    sig = inspect.signature(cls)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for k in params:
        if k not in sig.parameters and not accepts_any:
            known = [p for p in sig.parameters if p not in context]
            raise ConfigError(f"{kind} policy {getattr(cls, 'name', cls.__name__)!r} has no "
                              f"parameter {k!r}; known: {', '.join(known) or 'none'}", field=k)
    kwargs = dict(params)
    for k, v in context.items():
        if k in sig.parameters or accepts_any:
            kwargs.setdefault(k, v)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{kind} policy {getattr(cls, 'name', cls.__name__)!r}: {e}") from None


def names(kind: str) -> list[str]:
    """Registered names in ``kind``, sorted."""
    _builtins()
    return sorted(_REGISTRY[kind])


def kinds() -> tuple[str, ...]:
    return KINDS


def describe() -> list[dict[str, str]]:
    """One row per registered policy: kind, name, aliases, summary, paper (``Models:`` line)."""
    _builtins()
    rows = []
    for kind in KINDS:
        for name, cls in sorted(_REGISTRY[kind].items()):
            doc = inspect.getdoc(cls) or ""
            summary = doc.splitlines()[0] if doc else ""
            paper = ""
            for line in doc.splitlines():
                if line.strip().startswith("Models:"):
                    paper = line.split("Models:", 1)[1].strip()
                    break
            aliases = sorted(a for a, n in _ALIASES[kind].items() if n == name)
            rows.append({"kind": kind, "name": name, "aliases": ",".join(aliases),
                         "summary": summary, "paper": paper})
    return rows
