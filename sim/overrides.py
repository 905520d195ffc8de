"""``--set dotted.path=VALUE``: parse the flags and apply them to a scenario's data.

Each VALUE is read as YAML in memsim's dialect (``ground/yaml12.py``: ``yes`` is text,
not true), so ``--set`` and the file mean the same thing.  A path given twice is
refused (which of two values did you mean?), and so is one that names the same
field twice through a vLLM alias (``sim/vllm_names.py``).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from memsim.ground import yaml12
from memsim.ground.errors import ConfigError, combine

__all__ = ["parse_set", "parse_sets", "apply_overrides", "apply_each", "check_overrides"]


def parse_set(item: str) -> tuple[str, Any]:
    """``"kv.block_tokens=32"`` -> ("kv.block_tokens", 32); the value is parsed as YAML."""
    if not isinstance(item, str):
        raise ConfigError(f"expected dotted.path=VALUE text, got {type(item).__name__} {item!r}",
                          field="--set")
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected dotted.path=VALUE")
    path, _, raw = item.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ConfigError(f"--set {item!r}: empty field name")
    if not raw.strip():
        return path, ""
    try:
        return path, yaml12.parse(raw)
    except yaml12.DuplicateKey as e:
        raise ConfigError(f"key {e.key!r} appears twice in the value", field=f"--set {path}") from None
    except yaml12.TooLarge as e:
        raise ConfigError(f"the value is {e.problem}", field=f"--set {path}") from None
    except yaml.YAMLError:
        return path, raw    # not YAML (e.g. "a: b: c"): the text itself


def parse_sets(items: Iterable[str] | None) -> dict[str, Any]:
    """Every ``--set`` flag as one overrides dict; the same path twice is an error."""
    out: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for item in items or []:
        path, value = parse_set(item)
        if path in out:
            raise ConfigError(f"given twice ({raw[path]!r} and {item!r}); give it once",
                              field=f"--set {path}")
        out[path], raw[path] = value, item
    return out


def check_overrides(overrides: Any) -> dict[str, Any]:
    """``overrides`` as a plain dict, or a ConfigError naming the argument (API callers)."""
    if overrides is None:
        return {}
    if isinstance(overrides, (str, bytes)):
        raise ConfigError(f"expected a mapping {{'dotted.path': value}}, got text {overrides!r} "
                          "(for --set style text use memsim.sim.overrides.parse_sets([...]))",
                          field="overrides")
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"expected a mapping {{'dotted.path': value}}, got "
                          f"{type(overrides).__name__}", field="overrides")
    bad = [k for k in overrides if not isinstance(k, str) or not k or
           any(not p for p in k.split("."))]
    if bad:
        raise ConfigError(f"{bad[0]!r} is not a dotted field path like 'kv.block_tokens'",
                          field="overrides")
    return dict(overrides)


def apply_overrides(data: dict, overrides: Mapping[str, Any] | None) -> dict:
    """A copy of ``data`` with each dotted path set (creating mappings as needed).

    A path may cross a list by index or by an item's ``tier``/``name``:
    ``kv.tiers.dram.capacity`` or ``kv.tiers.0.capacity``.  Every bad path is
    reported (one line each), not just the first.
    """
    out, errors = apply_each(data, overrides)
    if errors:
        raise combine(errors)
    return out


def apply_each(data: dict, overrides: Mapping[str, Any] | None) -> tuple[dict, list[ConfigError]]:
    """``apply_overrides`` that keeps going: (a copy with every good path set, the errors)."""
    out = copy.deepcopy(data)
    errors = []
    for path, value in (overrides or {}).items():
        try:
            _set(out, path, value)
        except ConfigError as e:
            errors.append(e)
    return out, errors


def _set(out: dict, path: str, value: Any) -> None:
    cur: Any = out
    parts = path.split(".")
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[:i + 1])
        if isinstance(cur, list):
            j = _list_item(cur, p)
            if j is None:
                names = [str(x.get("tier") or x.get("name")) for x in cur if isinstance(x, dict)]
                raise ConfigError(f"{'.'.join(parts[:i])} has no item {p!r} "
                                  f"(items: {', '.join(names) or 'none'}, or an index)",
                                  field=f"--set {path}")
            if last:
                cur[j] = value
            else:
                cur = cur[j]
            continue
        if not isinstance(cur, dict):
            raise ConfigError(f"cannot set {path!r}: {'.'.join(parts[:i])} is not a mapping",
                              field=path)
        if last:
            cur[p] = value
        else:
            nxt = cur.get(p)
            if nxt is None:
                nxt = cur[p] = {}
            elif not isinstance(nxt, (dict, list)):
                raise ConfigError(f"cannot set {path!r}: {where} is not a mapping", field=path)
            cur = nxt


def _list_item(items: list, key: str) -> int | None:
    if key.lstrip("-").isdigit():
        j = int(key)
        return j if -len(items) <= j < len(items) else None
    for j, item in enumerate(items):
        if isinstance(item, dict) and key in (item.get("tier"), item.get("name")):
            return j
    return None
