"""Size threshold: refuse objects larger than a limit (absolute or a share of the cache)."""
from __future__ import annotations

from memsim.ground.errors import ConfigError, check_fraction, check_positive

from ..registry import register

__all__ = ["SizeThreshold"]


@register("admission")
class SizeThreshold:
    """Admit an object only if its size is at most the threshold.

    Models: size-based admission, as the static-threshold baseline of "AdaptSize: Orchestrating the Hot Object Memory Cache in a Content Delivery Network" (Berger, Sitaraman, Harchol-Balter; NSDI 2017).
    Parameters:
        max_size: largest admitted size, in the cache's unit (blocks or bytes).
        max_fraction: or, the largest size as a share of ``capacity`` (default 0.1
            when ``max_size`` is not given; needs the cache's capacity).
        capacity: cache size, passed by the caller (engine/replay).
    Differs from the paper: a fixed threshold (AdaptSize tunes it online).
    """

    name = "size_threshold"

    def __init__(self, *, max_size: int | None = None, max_fraction: float | None = None,
                 capacity: int | None = None):
        if max_size is not None and max_fraction is not None:
            raise ConfigError("give max_size or max_fraction, not both", field="max_size")
        if max_size is None:
            frac = check_fraction("max_fraction", 0.1 if max_fraction is None else max_fraction)
            if capacity is None:
                raise ConfigError("max_fraction needs the cache capacity; give max_size instead",
                                  field="max_fraction")
            max_size = int(check_positive("capacity", capacity) * frac)
        self.max_size = check_positive("max_size", max_size, allow_zero=True)
        self.max_fraction = max_fraction

    def __repr__(self) -> str:
        return f"SizeThreshold(max_size={self.max_size})"

    def admit(self, key, size: int, now_s: float) -> bool:
        return size <= self.max_size
