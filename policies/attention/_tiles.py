"""Tile arithmetic shared by the attention algorithms: block sizes along a dimension.

``blocks(n, b)`` lists the sizes of the blocks a loop over ``n`` items in steps of
``b`` visits (the last one partial when ``b`` does not divide ``n``); ``largest_fit``
finds the biggest block size whose working set still fits in fast memory.
"""
from __future__ import annotations

from collections.abc import Callable

from memsim.ground.errors import ConfigError

__all__ = ["ceil_div", "blocks", "largest_fit", "check_block", "too_small"]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def blocks(n: int, b: int) -> list[int]:
    """Sizes of the blocks of ``b`` covering ``n`` items: ``[b, ..., b, n - (T-1) b]``."""
    full, rest = divmod(n, b)
    return [b] * full + ([rest] if rest else [])


def largest_fit(hi: int, fits: Callable[[int], bool]) -> int:
    """The largest ``b`` in ``[1, hi]`` with ``fits(b)`` (``fits`` monotone); 0 if none."""
    if hi < 1 or not fits(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_block(name: str, value) -> int | None:
    """``None`` (derive from M) or a positive int block size."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} must be a positive integer", field=name)
    return value


def too_small(algo: str, sram_elems: int, need: int, what: str) -> ConfigError:
    return ConfigError(f"too small for {algo}: {what} needs {need} elements of fast memory, "
                       f"got {sram_elems}", field="sram_elems")
