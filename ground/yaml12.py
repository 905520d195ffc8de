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

It also refuses documents whose size is out of all proportion to a config file, before
anything walks them (PyYAML and pydantic recurse per level and would raise
RecursionError, and an alias to a list of aliases grows exponentially: "billion
laughs"): at most ``MAX_BYTES`` of text, ``MAX_DEPTH`` levels of nesting (counted
through aliases), ``MAX_NODES`` nodes once every alias is expanded, and no alias inside
its own anchor.  The shipped files are at most 11 KB, 6 levels and 521 nodes.
"""
from __future__ import annotations

import re

import yaml

__all__ = ["Loader", "DuplicateKey", "TooLarge", "parse", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES"]

#: text a YAML document may have (a scenario, sweep, platform or model file; a --set value)
MAX_BYTES = 4 * 1024 * 1024
#: levels of nesting (mappings and lists), aliases followed
MAX_DEPTH = 50
#: nodes (keys, values, items) once every alias is expanded
MAX_NODES = 200_000

_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp"}


class DuplicateKey(Exception):
    """A mapping gives the same key twice (YAML would silently keep the last)."""

    def __init__(self, key, line):
        super().__init__(f"key {key!r} appears twice (line {line})")
        self.key, self.line = key, line


class TooLarge(yaml.MarkedYAMLError):
    """The document is beyond one of the size limits (its text, depth, nodes or a cyclic alias)."""

    def __init__(self, problem: str, mark=None):
        super().__init__(problem=problem, problem_mark=mark)


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars that refuses duplicate keys and oversized documents."""

    _depth = 0

    def compose_node(self, parent, index):
        # the composer recurses once per level: stop long before Python's recursion limit
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise TooLarge(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expanded(node)
        return node

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


def _check_expanded(root) -> None:
    """Refuse a node graph that, with aliases expanded, is too deep, too big or cyclic.

    Each node's expanded size and height are memoised, so the walk costs one visit per
    node as written, not per node as expanded (an alias reached again is checked from its
    memo: its height counts from where the alias sits); the recursion is bounded by MAX_DEPTH."""
    memo: dict[int, tuple[int, int]] = {}     # id -> (values below and at it, levels)
    open_: set[int] = set()

    def deep(node, depth: int):
        return TooLarge(f"nested more than {MAX_DEPTH} levels deep once aliases are expanded",
                        node.start_mark)

    def walk(node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in memo:
            size, height = memo[key]
            if depth + height - 1 > MAX_DEPTH:
                raise deep(node, depth)
            return size, height
        if key in open_:
            raise TooLarge("an alias refers to the anchor it is inside (a cycle)", node.start_mark)
        if depth > MAX_DEPTH:
            raise deep(node, depth)
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for kv in node.value for n in kv]
        else:
            children = []
        open_.add(key)
        size, height = 1, 1
        for c in children:
            cs, ch = walk(c, depth + 1)
            size += cs
            height = max(height, ch + 1)
            if size > MAX_NODES:
                raise TooLarge(f"more than {MAX_NODES:,} values once aliases are expanded "
                               "(an alias bomb?)", node.start_mark)
        open_.discard(key)
        memo[key] = (size, height)
        return size, height

    walk(root, 1)


def parse(text: str):
    """``text`` read as YAML in memsim's dialect (may raise yaml.YAMLError, TooLarge or DuplicateKey)."""
    if len(text) > MAX_BYTES:
        raise TooLarge(f"{len(text):,} characters; a memsim YAML document may have at most "
                       f"{MAX_BYTES:,}")
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
