"""The policy registry: every decision the engine delegates is looked up here by name.

A policy is a class decorated with ``@register(kind)``; its registry name is the
class attribute ``name`` (lowercase snake_case, unique per kind), and it must
implement its kind's Protocol (``policies/<kind>/base.py``).  Policies come from
four places, all of them chosen by the user, never by a data file:

* the built-ins (imported on first lookup);
* classes registered from the user's own Python code (a notebook cell);
* installed packages' ``memsim.policies`` entry points;
* modules the user names with ``--plugin MODULE`` or ``MEMSIM_PLUGINS``
  (``load_plugin``, the only function here that imports a module by a name).

A scenario or sweep file only *names* registered policies: a ``module:attr``
string in one is an unknown policy, never an import.  This dict is the only
module-level mutable state in memsim.
"""
from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memsim.ground.errors import ConfigError

__all__ = ["register", "get", "create", "check_spec", "names", "kinds", "describe",
           "load_entry_points", "load_plugin", "load_env_plugins", "declare_kind",
           "protocol_for", "KINDS", "PLUGINS_ENV", "LOAD_CONTEXT"]

#: The policy families.
KINDS = ("eviction", "admission", "prefetch", "allocation", "compression", "attention", "write",
         "promotion", "load", "overlap", "offload", "flash", "router", "expert_prefetch")

#: Environment variable naming plugin modules to load (comma-separated), like ``--plugin``.
PLUGINS_ENV = "MEMSIM_PLUGINS"

#: kind -> the package whose import registers its built-ins (and declares its Protocol)
_FAMILY = {"eviction": "memsim.policies.eviction", "admission": "memsim.policies.admission",
           "attention": "memsim.policies.attention", "compression": "memsim.policies.compression",
           "flash": "memsim.policies.flash", "offload": "memsim.policies.offload",
           "router": "memsim.policies.router", "expert_prefetch": "memsim.policies.experts",
           **{k: "memsim.policies.kv" for k in ("prefetch", "allocation", "write", "promotion",
                                                "load", "overlap")}}

#: kind -> the module holding (and declaring) its Protocol
_BASE = {k: f"{v}.base" for k, v in _FAMILY.items()}

_REGISTRY: dict[str, dict[str, type]] = {k: {} for k in KINDS}
_ALIASES: dict[str, dict[str, str]] = {k: {} for k in KINDS}
_PROTOCOLS: dict[str, type] = {}
_loaded: set[str] = set()   # "builtins", "entry_points", "env:<value>"
_plugins: set[str] = set()  # plugin modules loaded (as named)

_PLUGIN_HINT = (f"policies load only from the registry: define the class in a module and pass "
                f"--plugin MODULE (or set {PLUGINS_ENV}=MODULE)")


def declare_kind(kind: str, protocol: type) -> None:
    """Called by each family's ``base`` module: the Protocol every ``kind`` policy implements."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown policy kind {kind!r}; known: {', '.join(KINDS)}")
    _PROTOCOLS[kind] = protocol


def protocol_for(kind: str) -> type:
    """The Protocol of ``kind`` (importing its family declares it)."""
    if kind not in _PROTOCOLS:
        importlib.import_module(_BASE[kind])
    return _PROTOCOLS[kind]


def _members(protocol: type) -> list[str]:
    """Methods and attributes a Protocol requires (``name`` included, ``__init__`` not)."""
    skip = {"__init__", "__module__", "__doc__", "__qualname__", "__dict__", "__weakref__",
            "__annotations__", "__parameters__", "__orig_bases__", "__abstractmethods__",
            "__protocol_attrs__", "__non_callable_proto_members__", "__subclasshook__",
            "__init_subclass__", "__class_getitem__", "__slots__", "__type_params__",
            "__static_attributes__", "__firstlineno__"}
    out: list[str] = []
    for base in protocol.__mro__:
        if base is object or base.__name__ in ("Protocol", "Generic"):
            continue
        for n in list(vars(base)) + list(getattr(base, "__annotations__", {})):
            if n in skip or n.startswith("_abc") or n.startswith("_is_") or n in out:
                continue
            if n.startswith("_") and not (n.startswith("__") and n.endswith("__")):
                continue
            out.append(n)
    return out


def missing_members(kind: str, obj: Any) -> list[str]:
    """What ``obj`` lacks of ``kind``'s Protocol: an instance needs every member; a class
    needs the methods and ``name`` (other data attributes may be set in ``__init__``)."""
    proto = protocol_for(kind)
    need = _members(proto)
    if inspect.isclass(obj):
        need = [m for m in need if m == "name" or callable(getattr(proto, m, None))]
    return [m for m in need if not hasattr(obj, m)]


def _check_implements(kind: str, obj: Any, what: str) -> None:
    gone = missing_members(kind, obj)
    if gone:
        raise ConfigError(f"{what} does not implement the {kind} policy interface "
                          f"({_PROTOCOLS[kind].__module__}.{_PROTOCOLS[kind].__qualname__}): "
                          f"missing {', '.join(gone)}")


def register(kind: str, *, aliases: tuple[str, ...] = (), replace: bool = False) -> Callable[[type], type]:
    """Class decorator: add the class to the ``kind`` family under ``cls.name``.

    The class must implement the kind's Protocol (a ConfigError names what is
    missing).  A duplicate name raises ``ValueError`` at import unless
    ``replace=True`` (meant for re-running a notebook cell that defines the same policy).
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown policy kind {kind!r}; known: {', '.join(KINDS)}")

    def deco(cls: type) -> type:
        if not inspect.isclass(cls):
            raise ValueError(f"@register({kind!r}) decorates a class, not {cls!r}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__qualname__} needs a class attribute `name` to be registered")
        _check_implements(kind, cls, f"{cls.__module__}.{cls.__qualname__}")
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
    """Import every family (registering the built-ins), the entry points and ``MEMSIM_PLUGINS``."""
    if "builtins" not in _loaded:
        _loaded.add("builtins")
        for mod in dict.fromkeys(_FAMILY.values()):
            importlib.import_module(mod)
    load_entry_points()
    load_env_plugins()


def load_entry_points() -> None:
    """Import every ``memsim.policies`` entry point once (each registers itself).

    Entry points are code the user installed, so loading them is their choice.
    """
    if "entry_points" in _loaded:
        return
    _loaded.add("entry_points")
    from importlib.metadata import entry_points
    for ep in entry_points(group="memsim.policies"):
        try:
            ep.load()
        except Exception as e:  # a broken plugin package is the user's to fix: say which
            raise ConfigError(f"entry point {ep.name!r} ({ep.value}) of group memsim.policies "
                              f"failed to load: {type(e).__name__}: {e}") from None


def load_env_plugins() -> None:
    """Load the modules named in ``MEMSIM_PLUGINS`` (comma-separated), once per value."""
    value = os.environ.get(PLUGINS_ENV, "").strip()
    if not value or f"env:{value}" in _loaded:
        return
    _loaded.add(f"env:{value}")
    for name in (v.strip() for v in value.split(",")):
        if name:
            load_plugin(name, source=PLUGINS_ENV)


def load_plugin(name: str, *, source: str = "--plugin") -> list[tuple[str, str]]:
    """Import the user's module ``name`` (a module name, or a path to a ``.py`` file), whose
    ``@register`` classes join the registry; returns the ``(kind, name)`` pairs it added.

    This is the only place memsim imports a module named at run time; only the command
    line (``--plugin``), ``MEMSIM_PLUGINS`` and the user's own code call it.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: expected a module name or a .py file, got {name!r}")
    name = name.strip()
    if name in _plugins:
        return []
    before = {(k, n) for k, t in _REGISTRY.items() for n in t}
    if "builtins" not in _loaded:
        _builtins()
    try:
        if name.endswith(".py") or os.sep in name or "/" in name:
            path = Path(name).expanduser()
            if not path.is_file():
                raise ConfigError(f"{source} {name}: no such file")
            modname = f"memsim_plugin_{path.stem}"
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            spec.loader.exec_module(module)
        else:
            # the user named it: look in the working folder too, as `python -m` would
            with _cwd_on_path():
                importlib.import_module(name)
    except ConfigError:
        raise
    except ModuleNotFoundError as e:
        raise ConfigError(f"{source} {name}: no module named {e.name!r}") from None
    except Exception as e:
        raise ConfigError(f"{source} {name}: importing it failed: {type(e).__name__}: {e}") from None
    _plugins.add(name)
    return sorted({(k, n) for k, t in _REGISTRY.items() for n in t} - before)


@contextlib.contextmanager
def _cwd_on_path():
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(cwd)


def _resolve(kind: str, name: Any) -> type:
    if kind not in _REGISTRY:
        raise ConfigError(f"unknown policy kind {kind!r}; known: {', '.join(KINDS)}")
    if not isinstance(name, str):
        raise ConfigError(f"{kind} policy name must be a string, got {type(name).__name__} {name!r}",
                          field="name")
    _builtins()
    table = _REGISTRY[kind]
    key = _ALIASES[kind].get(name, name)
    if key in table:
        return table[key]
    known = sorted(table) + sorted(_ALIASES[kind])
    if ":" in name or "." in name:
        raise ConfigError(f"unknown {kind} policy {name!r}; {_PLUGIN_HINT}")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {kind} policy {name!r}{hint}; known: {', '.join(sorted(table)) or 'none'}")


def get(kind: str, name: str) -> type:
    """The class registered as ``name`` (or an alias) in ``kind``."""
    return _resolve(kind, name)


def _split(kind: str, spec: Any) -> tuple[type, dict]:
    """(class, parameters) of a name or ``{name:, params}`` spec (data-file shapes only)."""
    if isinstance(spec, str):
        return _resolve(kind, spec), {}
    if isinstance(spec, dict):
        if "name" not in spec:
            raise ConfigError(f"{kind} policy spec needs a `name`", field="name")
        bad = [k for k in spec if not isinstance(k, str)]
        if bad:
            raise ConfigError(f"{kind} policy parameter names must be strings, got {bad[0]!r}")
        return _resolve(kind, spec["name"]), {k: v for k, v in spec.items() if k != "name"}
    raise ConfigError(f"the {kind} policy must be a name or a mapping {{name: ..., <parameters>}}, "
                      f"got {type(spec).__name__} {spec!r}")


def _check_params(kind: str, cls: type, params: dict, context: dict) -> inspect.Signature:
    sig = inspect.signature(cls)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for k in params:
        if k not in sig.parameters and not accepts_any:
            known = [p for p in sig.parameters if p not in context]
            raise ConfigError(f"{kind} policy {getattr(cls, 'name', cls.__name__)!r} has no "
                              f"parameter {k!r}; known: {', '.join(known) or 'none'}", field=k)
    return sig


#: Engine-provided constructor arguments with a representative value, so that
#: ``check_spec`` can build a policy when the scenario loads, before any engine exists.
#: Constructors check their own parameters; a check that depends on the real value
#: (the engine's block count) still runs when the engine builds the policy.
LOAD_CONTEXT: dict[str, Any] = {"capacity": 1024}


def check_spec(kind: str, spec: Any, *, context: dict[str, Any] | None = None) -> Any:
    """Validate a spec from a data file without the engine: a registered name, parameter
    names its class accepts, and parameter values (the class is built once, with
    ``LOAD_CONTEXT`` standing in for what the engine passes), so a bad value names its
    YAML field when the scenario loads.  Returns the spec unchanged (a pydantic validator)."""
    if spec is None:
        raise ConfigError(f"no {kind} policy given")
    cls, params = _split(kind, spec)
    ctx = dict(LOAD_CONTEXT if context is None else context)
    _check_params(kind, cls, params, ctx)
    create(kind, spec, **ctx)
    return spec


def create(kind: str, spec: Any, **context: Any) -> Any:
    """Instantiate a policy from a spec: ``"lru"``, ``{"name": "s3fifo", "small_fraction": 0.1}``,
    or, from Python code, a class or an instance implementing the kind's Protocol.

    ``context`` holds engine-provided keyword arguments (e.g. ``capacity``) passed
    only to constructors that accept them.  Bad parameters raise ConfigError naming
    the policy and parameter.
    """
    if spec is None:
        raise ConfigError(f"no {kind} policy given")
    if inspect.isclass(spec):
        _check_implements(kind, spec, f"{spec.__module__}.{spec.__qualname__}")
        cls, params = spec, {}
    elif isinstance(spec, (str, dict)):
        cls, params = _split(kind, spec)
    elif isinstance(spec, (int, float, bool, list, tuple, set, bytes)) or spec is None:
        _split(kind, spec)   # raises: not a policy spec
        raise AssertionError("unreachable")
    else:   # an instance built by the user
        _check_implements(kind, spec, f"{type(spec).__qualname__} instance")
        return spec
    sig = _check_params(kind, cls, params, context)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    kwargs = dict(params)
    for k, v in context.items():
        if k in sig.parameters or accepts_any:
            kwargs.setdefault(k, v)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        # constructors word their checks "param=value must ...": name that parameter's field
        text = str(e)
        field = next((k for k in params if text.startswith((f"{k}=", f"{k} "))), None)
        raise ConfigError(f"{kind} policy {getattr(cls, 'name', cls.__name__)!r}: {e}",
                          field=field) from None


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
