"""Bounded integer flags: argparse's ``type=int`` takes ``99999999999999999999`` and ``-5``.

``count(lo, hi)`` is a ``type=`` for a flag that counts something: an integer in
``lo..hi``, else argparse's one-line usage error naming the flag (exit 2).  The bounds
are where the count stops meaning anything (a sequence longer than 2**31 tokens, more
workers than any machine has cores), so a slip fails in one line instead of allocating
terabytes or running for hours.
"""
from __future__ import annotations

import argparse

__all__ = ["count", "MAX_TOKENS", "MAX_WORKERS", "SEED"]

MAX_TOKENS = 2**31 - 1      # as a trace's lengths (workloads/_lines.py)
MAX_WORKERS = 1024


def count(lo: int = 1, hi: int = 2**63 - 1):
    """``type=`` for an integer flag in ``lo..hi``."""
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{text} is outside {lo:,}..{hi:,}")
        return v
    parse.__name__ = "integer"   # argparse names the type in some messages
    return parse


#: ``type=`` for a seed flag
SEED = count(0)
