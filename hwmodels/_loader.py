"""Finding and loading platform files: a shipped name (``h100_sxm``) or a path.

Every problem becomes one ConfigError naming the file and the field, e.g.
``hwmodels/h100_sxm.yaml: tiers[1].read_bw: '3.35 TB' is a size; expected ...``.
"""
from __future__ import annotations

from pathlib import Path

from memsim.ground import catalogue
from memsim.ground.errors import ConfigError
from memsim.ground.schema import load_yaml, validate_located

from .schema import Platform

__all__ = ["load_platform", "list_platforms", "platform_path", "HWMODELS_DIR"]

HWMODELS_DIR = Path(__file__).resolve().parent
"""Where the shipped ``*.yaml`` platforms live."""


def platform_path(name_or_path: str | Path) -> Path:
    """The file for a shipped platform name, or ``name_or_path`` itself if it is a path."""
    return catalogue.find(name_or_path, HWMODELS_DIR, noun="platform", shelf="shipped",
                          field="platform")


def load_platform(name_or_path: str | Path) -> Platform:
    """Load and validate a platform: ``load_platform("h100_sxm")`` or a path to a YAML file."""
    path = platform_path(name_or_path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}",
                          file=str(path))
    plat = validate_located(Platform, data, file=path)
    plat._file = str(Path(path).resolve())
    return plat


def list_platforms() -> list[tuple[str, str]]:
    """``[(name, description), ...]`` of the shipped platforms, sorted by name."""
    return catalogue.listing(HWMODELS_DIR)
