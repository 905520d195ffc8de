"""Finding and loading platform files: a shipped name (``h100_sxm``) or a path.

Every problem becomes one ConfigError naming the file and the field, e.g.
``hwmodels/h100_sxm.yaml: tiers[1].read_bw: '3.35 TB' is a size; expected ...``.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import ValidationError

from sim._schema import field_path, load_yaml, validate
from sim.errors import ConfigError

from .schema import Platform

__all__ = ["load_platform", "list_platforms", "platform_path", "HWMODELS_DIR"]

HWMODELS_DIR = Path(__file__).resolve().parent
"""Where the shipped ``*.yaml`` platforms live."""


def _shipped() -> list[Path]:
    return sorted(HWMODELS_DIR.glob("*.yaml"))


def platform_path(name_or_path: str | Path) -> Path:
    """The file for a shipped platform name, or ``name_or_path`` itself if it is a path."""
    s = str(name_or_path)
    p = Path(s)
    if p.suffix in (".yaml", ".yml") or "/" in s or "\\" in s or p.is_file():
        return p
    cand = HWMODELS_DIR / f"{s}.yaml"
    if cand.is_file():
        return cand
    names = [q.stem for q in _shipped()]
    close = difflib.get_close_matches(s, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown platform {s!r}{hint}; shipped: {', '.join(names)}; "
                      "or give a path to a .yaml file", field="platform")


def load_platform(name_or_path: str | Path) -> Platform:
    """Load and validate a platform: ``load_platform("h100_sxm")`` or a path to a YAML file."""
    path = platform_path(name_or_path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}",
                          file=str(path))
    return validate_located(Platform, data, file=path)


def validate_located(cls, data, *, file):
    """``sim._schema.validate``, but a ConfigError raised by a model-level check keeps its
    own field under the model's location (``tiers[3]`` + ``bw_curve[0].read_bw``)."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        ce = (err.get("ctx") or {}).get("error")
        if isinstance(ce, ConfigError) and ce.field and err["type"] == "value_error":
            loc = field_path(err["loc"])
            if not loc.endswith(ce.field):
                loc = f"{loc}.{ce.field}" if loc else ce.field
            raise ConfigError(ce.problem, file=str(file), field=loc) from None
    return validate(cls, data, file=file)


def list_platforms() -> list[tuple[str, str]]:
    """``[(name, description), ...]`` of the shipped platforms, sorted by name."""
    out = []
    for p in _shipped():
        data = load_yaml(p)
        desc = data.get("description", "") if isinstance(data, dict) else ""
        out.append((p.stem, str(desc)))
    return out
