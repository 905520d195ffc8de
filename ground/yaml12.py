"""The YAML dialect memsim reads: safe, one key per mapping, and YAML 1.2 plain scalars.

PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans,
``010`` is octal 8, ``1:30`` is 90 and ``1_000`` is 1000, so ``--set
parallelism.tp=on`` quietly meant 1.  Every file memsim reads (scenarios, sweeps,
hardware, models) and every ``--set`` value goes through this loader instead,
which resolves plain scalars as the YAML 1.2 core schema does:

* booleans are ``true``/``false`` only (any case); ``yes``, ``on``, ``y`` stay text;
* integers are ``[-+]?[0-9]+`` (decimal even with leading zeros), ``0o17``, ``0x1f``;
  ``1_000`` and ``1:30`` stay text (no digit separators, no sexagesimal);
* floats are ``1.5``, ``1e3``, ``.5``, ``.inf``, ``.nan``; dates stay text.
"""
from __future__ import annotations

import re

import yaml

__all__ = ["Loader", "DuplicateKey", "parse"]

_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp"}


class DuplicateKey(Exception):
    """A mapping gives the same key twice (YAML would silently keep the last)."""

    def __init__(self, key, line):
        super().__init__(f"key {key!r} appears twice (line {line})")
        self.key, self.line = key, line


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
            except TypeError:   # an unhashable key: the constructor below says so
                dup = False
            if dup:
                raise DuplicateKey(key, key_node.start_mark.line + 1)
            if not isinstance(key, (list, dict)):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        sign, digits = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
        base = {"0o": 8, "0x": 16}.get(digits[:2], 10)
        return sign * int(digits[2:] if base != 10 else digits, base)


Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                             re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
Loader.add_implicit_resolver("tag:yaml.org,2002:int",
                             re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                             list("-+0123456789"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)


def parse(text: str):
    """``text`` read as YAML in memsim's dialect (may raise yaml.YAMLError / DuplicateKey)."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
