"""Example scenario files shipped with memsim (``memsim run`` with no file runs quickstart).

``memsim run NAME`` and ``memsim.run("NAME")`` find a shipped scenario by its stem
from any folder (``memsim.ground.catalogue`` over ``folder()``).
"""
from importlib.resources import files
from pathlib import Path

__all__ = ["path", "folder"]


def folder() -> Path:
    """The folder holding the shipped scenario (and sweep) files."""
    return Path(str(files(__name__)))


def path(name: str = "quickstart"):
    """Path of a shipped scenario by stem, e.g. ``path("quickstart")``."""
    return files(__name__) / f"{name}.yaml"
