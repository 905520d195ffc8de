"""Example scenario files shipped with memsim (``memsim run`` with no file runs quickstart)."""
from importlib.resources import files

__all__ = ["path"]


def path(name: str = "quickstart"):
    """Path of a shipped scenario by stem, e.g. ``path("quickstart")``."""
    return files(__name__) / f"{name}.yaml"
