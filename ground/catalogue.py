"""Shipped YAML catalogues (platforms, models, scenarios): find a file by name or path.

A name (``h100_sxm``) is a file stem in the catalogue folder; anything that looks
like a path (a ``.yaml`` suffix, a separator, an existing file) is taken as given.
An unknown name is one ConfigError with the closest shipped name.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from .errors import ConfigError
from .schema import load_yaml

__all__ = ["find", "names", "listing", "looks_like_path"]


def looks_like_path(s: str) -> bool:
    p = Path(s)
    return p.suffix in (".yaml", ".yml") or "/" in s or "\\" in s or p.is_file()


def names(folder: Path) -> list[str]:
    return [q.stem for q in sorted(Path(folder).glob("*.yaml"))]


def find(name_or_path, folder: Path, *, noun: str, shelf: str, field: str,
         lower: bool = False) -> Path:
    """The catalogue file for ``name_or_path`` (or the path itself).

    ``noun`` names the thing ("platform"), ``shelf`` the catalogue in the error
    ("shipped", "catalogue"), ``field`` the scenario field that named it.
    """
    s = str(name_or_path)
    if looks_like_path(s):
        return Path(s)
    cand = Path(folder) / f"{s}.yaml"
    if cand.is_file():
        return cand
    known = names(folder)
    close = difflib.get_close_matches(s.lower() if lower else s, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {noun} {s!r}{hint}; {shelf}: {', '.join(known)}; "
                      "or give a path to a .yaml file", field=field)


def listing(folder: Path) -> list[tuple[str, str]]:
    """``[(name, description), ...]`` of a catalogue folder, sorted by name."""
    out = []
    for p in sorted(Path(folder).glob("*.yaml")):
        data = load_yaml(p)
        desc = data.get("description", "") if isinstance(data, dict) else ""
        out.append((p.stem, str(desc)))
    return out
