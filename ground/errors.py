"""Exceptions memsim raises: one base class, and a config error that names where.

    MemsimError
    ├── ConfigError (also a ValueError)   bad scenario/hardware/model YAML or CLI value
    │   ├── ConfigErrors                  several of them found in one pass (one line each)
    │   └── TraceError                    a malformed trace row (file, line, problem)
    └── SimulationError                   the scenario cannot run as configured

Library code raises these; only ``sim/cli.py`` catches them, prints the one-line
message and exits with status 2.  A broken invariant is a bug, not one of these:
it raises ``AssertionError`` with a traceback.
"""
from __future__ import annotations

__all__ = ["MemsimError", "ConfigError", "ConfigErrors", "TraceError", "SimulationError",
           "combine", "check_positive", "check_nonnegative", "check_fraction"]


class MemsimError(Exception):
    """Base class of every error memsim reports to a user."""


class ConfigError(MemsimError, ValueError):
    """A value a user wrote is wrong.

    ``str(err)`` reads ``FILE: FIELD: problem`` with the parts that are known, e.g.
    ``hwmodels/h100_sxm.yaml: tiers[1].read_bw: "3.35 TB" is a size; expected a
    bandwidth like "3.35 TB/s"``.
    """

    def __init__(self, problem: str, *, file: str | None = None, field: str | None = None):
        # one line, always: messages that embed a library's text may carry newlines
        self.problem = " ".join(str(problem).split()) if "\n" in str(problem) else str(problem)
        self.file = None if file is None else str(file)
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join(parts + [self.problem])

    def located(self, *, file: str | None = None, field_prefix: str | None = None) -> "ConfigError":
        """The same error with a file and/or an enclosing field path added."""
        field = self.field
        if field_prefix:
            sep = "" if field and field.startswith("[") else "."
            field = f"{field_prefix}{sep}{field}" if field else field_prefix
        return type(self)(self.problem, file=self.file or (None if file is None else str(file)),
                          field=field)


class ConfigErrors(ConfigError):
    """Several problems found in one pass over a file: ``str()`` is one line per problem.

    ``problem``/``file``/``field`` are the first one's, so code that reads a single
    ConfigError still works; ``errors`` holds them all.  Build with ``combine``.
    """

    #: at most this many lines are shown; the rest are counted on one more line
    SHOWN = 20

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.problem, file=first.file, field=first.field)

    def __str__(self) -> str:
        lines = [str(e) for e in self.errors[:self.SHOWN]]
        if len(self.errors) > self.SHOWN:
            lines.append(f"... and {len(self.errors) - self.SHOWN} more problems")
        return "\n".join(lines)

    def located(self, *, file: str | None = None, field_prefix: str | None = None) -> "ConfigErrors":
        return ConfigErrors([e.located(file=file, field_prefix=field_prefix) for e in self.errors])


def combine(errors: list[ConfigError]) -> ConfigError:
    """One error for a list of them: the error itself when there is one, else ConfigErrors
    (nested ConfigErrors are flattened, so each problem stays one line)."""
    flat: list[ConfigError] = []
    for e in errors:
        flat.extend(e.errors if isinstance(e, ConfigErrors) else [e])
    if not flat:
        raise ValueError("combine() needs at least one error")
    return flat[0] if len(flat) == 1 else ConfigErrors(flat)


class TraceError(ConfigError):
    """A trace file row is malformed; ``field`` is ``line N`` (1-based)."""

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.line = line
        if field is None and line is not None:
            field = f"line {line}"
        super().__init__(problem, file=file, field=field)

    def located(self, *, file=None, field_prefix=None):  # noqa: D401 - same contract
        return TraceError(self.problem, file=self.file or file, line=self.line,
                          field=self.field if not field_prefix else f"{field_prefix}.{self.field}")


class SimulationError(MemsimError):
    """The scenario is valid YAML but cannot be simulated (e.g. weights exceed HBM)."""


def check_positive(name: str, value, *, allow_zero: bool = False):
    """Return ``value`` if it is a finite number > 0 (or >= 0); else raise ConfigError."""
    import math
    try:
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    except TypeError:
        ok = False
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}={value!r} must be a finite number {rule}", field=name)
    return value


def check_nonnegative(name: str, value):
    return check_positive(name, value, allow_zero=True)


def check_fraction(name: str, value, *, open_low: bool = False):
    """Return ``value`` if it lies in [0, 1] (or (0, 1]); else raise ConfigError."""
    import math
    try:
        ok = math.isfinite(value) and (0 < value <= 1 if open_low else 0 <= value <= 1)
    except TypeError:
        ok = False
    if not ok:
        rng = "(0, 1]" if open_low else "[0, 1]"
        raise ConfigError(f"{name}={value!r} must be in {rng}", field=name)
    return value
