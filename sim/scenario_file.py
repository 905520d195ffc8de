"""Reading a scenario of any kind: source -> data -> aliases, overrides, seed -> model.

A source is a path, the name of a shipped scenario (``quickstart``, found in the
``memsim.scenarios`` package from any folder), a dict, or an already built model.
Every problem found on the way (bad ``--set`` paths, a field given under its vLLM
name and its own, every field pydantic rejects) is reported together, one line each.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Union

from pydantic import BeforeValidator, PrivateAttr

import memsim.scenarios as shipped
from memsim.ground import catalogue
from memsim.ground.errors import ConfigError, combine
from memsim.ground.scalars import INT64_MAX
from memsim.ground.schema import StrictModel, check_shape, load_yaml, validate
from memsim.policies import registry

from .overrides import apply_each, check_overrides
from .vllm_names import rename_data, rename_overrides, show_aliases

__all__ = ["ScenarioFile", "Policy", "PolicySpec", "build", "read", "check_seed"]

PolicySpec = Union[str, dict[str, Any]]


def Policy(kind: str):
    """A policy spec field: a registered name or ``{name: ..., <parameters>}``, checked
    against the registry when the scenario loads, parameter values included (the class
    is built once with representative engine context; never imported from the file)."""
    return Annotated[PolicySpec, BeforeValidator(lambda v: registry.check_spec(kind, v))]


class ScenarioFile(StrictModel):
    """Base of every scenario kind's model: remembers where it was read from."""

    #: alias path -> canonical path accepted in this kind's files (sim/vllm_names.py)
    ALIASES: ClassVar[dict[str, str]] = {}

    #: Folder relative paths in the scenario resolve against (set when loading).
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source_file: str | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def source_file(self) -> str | None:
        return self._source_file


_SWEEP_KEYS = {"base", "grid", "zip"}


def read(source: Any) -> tuple[dict, Path, str | None]:
    """``(data, base_dir, file)`` of a path, shipped name, dict or model."""
    if isinstance(source, ScenarioFile):
        data = source.model_dump(mode="json", context={"with_units": True})
        return data, source.base_dir, source.source_file
    if isinstance(source, Mapping):
        return dict(source), Path.cwd(), None
    if not isinstance(source, (str, os.PathLike)) or isinstance(source, bool):
        raise ConfigError("expected a scenario file path, a shipped scenario name, a dict or "
                          f"a loaded scenario, got {type(source).__name__} {source!r}",
                          field="scenario")
    text = os.fspath(source)
    if isinstance(text, bytes) or not text.strip():
        raise ConfigError(f"expected a scenario file path or name, got {text!r}", field="scenario")
    path = Path(text)
    if isinstance(source, str) and not catalogue.looks_like_path(text):
        path = catalogue.find(text, shipped.folder(), noun="scenario", shelf="shipped",
                              field="scenario")
        text = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("a scenario must be a YAML mapping", file=text)
    if _SWEEP_KEYS & set(data) and "platform" not in data:
        raise ConfigError("this is a sweep file (base/grid/zip), not a scenario: run it with "
                          "memsim sweep", file=text)
    return data, path.resolve().parent, text


def check_seed(seed: Any) -> int | None:
    """``seed`` if it is None or an integer in 0..2**63-1; else a ConfigError naming it."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"expected a non-negative integer, got {type(seed).__name__} {seed!r}",
                          field="seed")
    if not 0 <= seed <= INT64_MAX:
        raise ConfigError(f"{seed} must be in 0..2**63-1", field="seed")
    return seed


def build(models: dict[str, type[ScenarioFile]], source: Any, overrides: Any = None, *,
          seed: Any = None, default_kind: str | None = "serve", elsewhere: str = "") -> Any:
    """The model of ``source``'s kind (one of ``models``), with overrides and seed applied.

    ``elsewhere`` completes the error for a kind that exists but is not wanted here.
    """
    overrides = check_overrides(overrides)
    seed = check_seed(seed)
    if isinstance(source, tuple(models.values())) and not overrides and seed is None:
        return source
    data, base, file = read(source)
    check_shape(data, file=file)     # before anything copies or walks it (a dict from Python)
    for path, value in overrides.items():
        check_shape(value, field=path)
    cls = _model_for(models, overrides.get("kind", data.get("kind", default_kind)), file,
                     elsewhere)
    errors: list[ConfigError] = []
    data, renamed, errs = rename_data(data, cls.ALIASES)
    errors += errs
    overrides, renamed_set, errs = rename_overrides(overrides, cls.ALIASES)
    errors += errs
    for canon in overrides:           # a --set of the canonical name replaces the file's alias
        renamed.pop(canon, None)
    renamed.update(renamed_set)
    data, errs = apply_each(data, overrides)
    errors += errs
    if seed is not None:
        if "seed" not in cls.model_fields:
            errors.append(ConfigError(f"a kind: {_kind_of(cls)} scenario has no seed",
                                      field="seed"))
        else:
            data["seed"] = seed
    data, again, errs = rename_data(data, cls.ALIASES)   # aliases inside --set mappings
    errors += errs
    renamed.update(again)
    try:
        scen = validate(cls, data, file=file)
    except ConfigError as e:
        errors.append(show_aliases(e, renamed))
    if errors:
        raise combine([e.located(file=file) for e in errors])
    scen._base_dir = Path(base)
    scen._source_file = file
    return scen


def _kind_of(cls) -> str:
    ann = cls.model_fields["kind"].annotation
    return getattr(ann, "__args__", ("?",))[0]


def _model_for(models, kind, file, elsewhere):
    if isinstance(kind, str) and kind in models:
        return models[kind]
    known = ", ".join(models)
    if isinstance(kind, str) and elsewhere:
        return _raise(f"a kind: {kind} scenario; this takes kind: {known} ({elsewhere})", file)
    close = difflib.get_close_matches(str(kind), list(models), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _raise(f"unknown scenario kind {kind!r}{hint}; known: {known}", file)


def _raise(problem, file):
    raise ConfigError(problem, file=file, field="kind")
