"""Always: store every missed object (the default, and the fast path's only filter)."""
from __future__ import annotations

from ..registry import register

__all__ = ["Always"]


@register("admission")
class Always:
    """Admit every object.

    Models: the implicit admission of demand paging ("A study of replacement algorithms for a virtual-storage computer", Belady 1966).
    Parameters: none.
    Differs from the paper: nothing.
    """

    name = "always"

    def __init__(self):
        pass

    def __repr__(self) -> str:
        return "Always()"

    def admit(self, key, size: int, now_s: float) -> bool:
        return True
