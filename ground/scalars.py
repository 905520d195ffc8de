"""No silent coercion of plain scalars: what an int, float or bool field of a config accepts.

pydantic's lax mode turns ``True`` into 1, ``"32"`` into 32 and ``"yes"`` into True;
in a YAML file or a ``--set`` that is nearly always a mistake.  Config models are
therefore validated in pydantic's strict mode (``StrictModel``), so:

* an ``int`` field takes an integer (not a boolean, a float or text) that fits in
  64 bits (``check_int64``);
* a ``float`` field takes a number, integers included (not a boolean or text), finite;
* a ``bool`` field takes ``true`` or ``false`` (not 0/1 or text such as "yes").

Fields with their own parsing (quantities with units, policy specs) parse first.
``type_problem`` words pydantic's strict-type errors the way memsim's other
messages read.
"""
from __future__ import annotations

import re
import typing
from functools import cache

from .errors import ConfigError

__all__ = ["INT64_MAX", "check_int64", "number_choices", "type_problem"]

INT64_MAX = 2**63 - 1
"""Largest integer a config field takes (results store integers as int64)."""

_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:[_,]\d{3})+$")
_TYPES = {"int_type", "float_type", "bool_type", "int_from_float", "int_parsing",
          "float_parsing", "bool_parsing"}


def check_int64(v):
    """An integer field's value, if it fits in 64 bits (after validation, so ints only)."""
    if isinstance(v, int) and not isinstance(v, bool) and not -INT64_MAX - 1 <= v <= INT64_MAX:
        raise ConfigError(f"{v} does not fit in a 64-bit integer")
    return v


@cache
def number_choices(cls: type) -> dict[str, tuple]:
    """Fields of ``cls`` that are a choice of integers (``version: Literal[1]``): True would
    match 1 even in strict mode."""
    out = {}
    for name, info in cls.model_fields.items():
        ann = info.annotation
        while typing.get_origin(ann) is typing.Union and type(None) in typing.get_args(ann):
            inner = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = inner[0] if len(inner) == 1 else None
        if typing.get_origin(ann) is typing.Literal:
            choices = typing.get_args(ann)
            if any(isinstance(c, int) and not isinstance(c, bool) for c in choices):
                out[name] = choices
    return out


def type_problem(err: dict) -> str | None:
    """pydantic's message for a strict-type error on a scalar, with what to write instead
    (None: not such an error, or nothing to add)."""
    if err.get("type") not in _TYPES or "input" not in err:
        return None
    v, msg = err["input"], err["msg"]
    if isinstance(v, (dict, list)):
        return None
    if err["type"].startswith("bool"):
        return f"{msg}: write true or false (got {v!r})"
    if isinstance(v, bool):
        return f"{msg}, not a boolean (got {v!r})"
    if isinstance(v, str):
        text = v.strip()
        if _GROUPED.match(text):
            return f"{msg} (got {v!r}; write {re.sub('[_,]', '', text)}: no digit separators)"
        if _is_number(text):
            return f"{msg} (got {v!r}, which is text: remove the quotes)"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
