"""Second hit: store an object only on its second miss within a bounded history.

The history is a FIFO ghost set of recently refused keys (a doorkeeper), so
one-hit wonders never displace anything.
"""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import ConfigError

from ..registry import register

__all__ = ["SecondHit"]


@register("admission")
class SecondHit:
    """Admit a key only if it missed before and is still in the doorkeeper's history.

    Models: the doorkeeper of "TinyLFU: A Highly Efficient Cache Admission Policy" (Einziger, Friedman, Manes; ACM TOS 2017) and the second-hit caching of "Algorithmic Nuggets in Content Delivery" (Maggs, Sitaraman; SIGCOMM CCR 2015).
    Parameters:
        history: how many refused keys the doorkeeper remembers (default 65536;
            oldest forgotten first).
    Differs from the paper: an exact bounded FIFO set instead of a Bloom filter
    (no false positives) and no periodic reset.
    """

    name = "second_hit"

    def __init__(self, *, history: int = 65536):
        if not isinstance(history, int) or history < 1:
            raise ConfigError(f"history={history!r} must be an integer >= 1", field="history")
        self.history = history
        self._seen: OrderedDict = OrderedDict()

    def __repr__(self) -> str:
        return f"SecondHit(history={self.history})"

    def admit(self, key, size: int, now_s: float) -> bool:
        if key in self._seen:
            del self._seen[key]
            return True
        self._seen[key] = None
        if len(self._seen) > self.history:
            self._seen.popitem(last=False)
        return False
