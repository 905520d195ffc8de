"""Quantities with units: the only place a string like ``3.35 TB/s`` becomes a number.

Internally memsim uses int bytes, float seconds, bytes/s, FLOP, FLOP/s, joules.
YAML carries human quantities; a bare number where a unit is required is an error,
and so is a unit of the wrong dimension ("3.35 TB" where a bandwidth is expected).

    >>> parse_size("80 GiB")
    85899345920
    >>> parse_bandwidth("3.35 TB/s")
    3350000000000.0
    >>> parse_time("2 us")
    2e-06
    >>> parse_flops("989 TFLOP/s")
    9.89e+14
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, NewType

from .errors import ConfigError

__all__ = [
    "Bytes", "Seconds", "BytesPerSecond", "FlopPerSecond",
    "parse_quantity", "parse_size", "parse_bandwidth", "parse_time", "parse_flops",
    "parse_rate", "parse_energy_per_byte", "parse_frequency",
    "format_size", "format_bandwidth", "format_time",
    "Size", "Bandwidth", "Duration", "FlopRate", "Rate", "EnergyPerByte", "Frequency",
    "DIMENSIONS", "BASE_UNIT", "with_unit",
]

Bytes = NewType("Bytes", int)
Seconds = NewType("Seconds", float)
BytesPerSecond = NewType("BytesPerSecond", float)
FlopPerSecond = NewType("FlopPerSecond", float)

_DEC = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}

# unit symbol -> (dimension, factor to the internal unit)
_UNITS: dict[str, tuple[str, float]] = {}


def _add(dim: str, base: str, factor: float = 1.0, *, binary: bool = True, decimal: bool = True):
    if decimal:
        for p, f in _DEC.items():
            _UNITS[f"{p}{base}"] = (dim, f * factor)
    if binary:
        for p, f in _BIN.items():
            _UNITS[f"{p}{base}"] = (dim, f * factor)


_add("size", "B")
_add("size", "bit", 1 / 8)
_add("size", "b", 1 / 8, binary=False)
_add("bandwidth", "B/s")
_add("bandwidth", "bit/s", 1 / 8)
_add("bandwidth", "b/s", 1 / 8, binary=False)
_add("bandwidth", "bps", 1 / 8, binary=False)
_add("flop", "FLOP", binary=False)
_add("flop_rate", "FLOP/s", binary=False)
_add("flop_rate", "FLOPS", binary=False)
_add("flop_rate", "OP/s", binary=False)
_add("flop_rate", "OPS", binary=False)
_add("frequency", "Hz", binary=False)
_add("rate", "req/s", binary=False)
_add("rate", "/s", binary=False)
_UNITS["/min"], _UNITS["/h"] = ("rate", 1 / 60), ("rate", 1 / 3600)
for _sym, _f in {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0,
                 "min": 60.0, "h": 3600.0}.items():
    _UNITS[_sym] = ("time", _f)
for _sym, _f in {"pJ/B": 1e-12, "nJ/B": 1e-9, "uJ/B": 1e-6, "J/B": 1.0,
                 "pJ/bit": 8e-12, "pJ/b": 8e-12}.items():
    _UNITS[_sym] = ("energy_per_byte", _f)
for _sym, _f in {"req/min": 1 / 60, "req/h": 1 / 3600}.items():
    _UNITS[_sym] = ("rate", _f)

DIMENSIONS = {
    "size": 'a size like "80 GiB"',
    "bandwidth": 'a bandwidth like "3.35 TB/s"',
    "time": 'a time like "2 us"',
    "flop": 'a FLOP count like "1.2 TFLOP"',
    "flop_rate": 'a compute rate like "989 TFLOP/s"',
    "frequency": 'a frequency like "1.98 GHz"',
    "rate": 'a rate like "5 req/s"',
    "energy_per_byte": 'an energy like "7 pJ/B"',
}

_QTY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")


def parse_quantity(value: Any, dim: str, *, field: str | None = None) -> float:
    """Parse ``value`` as a quantity of dimension ``dim``; return it in internal units.

    Accepts a string with a unit ("80 GiB"), or for ``dim == "time"`` a bare number
    of seconds is NOT accepted: every quantity must name its unit.  ``0`` alone is
    accepted for any dimension (zero is zero in every unit).
    """
    if isinstance(value, bool):
        raise ConfigError(f"{value!r} is a boolean; expected {DIMENSIONS[dim]}", field=field)
    if isinstance(value, (int, float)):
        if value == 0:
            return 0.0
        raise ConfigError(f"{value!r} has no unit; expected {DIMENSIONS[dim]}", field=field)
    if not isinstance(value, str):
        raise ConfigError(f"{value!r} is not a quantity; expected {DIMENSIONS[dim]}", field=field)
    m = _QTY.match(value)
    if not m:
        raise ConfigError(f"{value!r} is not a number with a unit; expected {DIMENSIONS[dim]}",
                          field=field)
    number, unit = float(m.group(1)), (m.group(2) or "").strip()
    if not unit:
        if number == 0:
            return 0.0
        raise ConfigError(f"{value!r} has no unit; expected {DIMENSIONS[dim]}", field=field)
    if unit not in _UNITS:
        raise ConfigError(f"{value!r}: unknown unit {unit!r}; expected {DIMENSIONS[dim]}",
                          field=field)
    got, factor = _UNITS[unit]
    if got != dim:
        raise ConfigError(f"{value!r} is {_article(got)}; expected {DIMENSIONS[dim]}", field=field)
    out = number * factor
    if not math.isfinite(out) or out < 0:
        raise ConfigError(f"{value!r} must be finite and >= 0", field=field)
    return out


def _article(dim: str) -> str:
    return {"size": "a size", "bandwidth": "a bandwidth", "time": "a time", "flop": "a FLOP count",
            "flop_rate": "a compute rate", "frequency": "a frequency", "rate": "a rate",
            "energy_per_byte": "an energy per byte"}[dim]


def parse_size(value: Any, *, field: str | None = None) -> int:
    """Bytes as an int (rounded to the nearest byte)."""
    return int(round(parse_quantity(value, "size", field=field)))


def parse_bandwidth(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "bandwidth", field=field)


def parse_time(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "time", field=field)


def parse_flops(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "flop_rate", field=field)


def parse_rate(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "rate", field=field)


def parse_energy_per_byte(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "energy_per_byte", field=field)


def parse_frequency(value: Any, *, field: str | None = None) -> float:
    return parse_quantity(value, "frequency", field=field)


def format_size(n: float) -> str:
    """Human form of a byte count with binary prefixes: ``format_size(2**30) == '1 GiB'``."""
    for p in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if abs(n) >= _BIN[p]:
            return f"{n / _BIN[p]:.4g} {p}B"
    return f"{n:.4g} B"


def format_bandwidth(x: float) -> str:
    for p in ("P", "T", "G", "M", "k"):
        if abs(x) >= _DEC[p]:
            return f"{x / _DEC[p]:.4g} {p}B/s"
    return f"{x:.4g} B/s"


def format_time(t: float) -> str:
    for sym, f in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(t) >= f:
            return f"{t / f:.4g} {sym}"
    return f"{t:.4g} s"


# ---- pydantic field types -------------------------------------------------------
# A field annotated ``Size`` accepts "80 GiB" in YAML and holds int bytes; its JSON
# Schema says "string with a unit" so editors can validate files.

#: the unit a value in internal units is written with when dumped ``with_units``
BASE_UNIT = {"size": "B", "bandwidth": "B/s", "time": "s", "flop_rate": "FLOP/s",
             "rate": "req/s", "energy_per_byte": "J/B", "frequency": "Hz"}


def with_unit(value, dim: str, info) -> Any:
    """Serializer: ``value`` as text in its base unit when the dump's context asks for
    ``with_units`` (so the dump validates back exactly), else the number itself."""
    if value is None or not (info.context or {}).get("with_units"):
        return value
    return f"{value!r} {BASE_UNIT[dim]}"


def _pyd(dim: str, conv, pytype):
    from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
    desc = DIMENSIONS[dim]
    return Annotated[pytype, BeforeValidator(conv),
                     PlainSerializer(lambda v, info: with_unit(v, dim, info)),
                     WithJsonSchema({"anyOf": [{"type": "string", "description": desc},
                                               {"const": 0}]})]



Size = _pyd("size", parse_size, int)
Bandwidth = _pyd("bandwidth", parse_bandwidth, float)
Duration = _pyd("time", parse_time, float)
FlopRate = _pyd("flop_rate", parse_flops, float)
Rate = _pyd("rate", parse_rate, float)
EnergyPerByte = _pyd("energy_per_byte", parse_energy_per_byte, float)
Frequency = _pyd("frequency", parse_frequency, float)
