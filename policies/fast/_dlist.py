"""Array-backed doubly linked lists for the Numba replay kernels.

Keys are dense ints 0..n-1; one ``link`` array is shared by all lists (a key is
in at most one list at a time): ``link[2x]`` is x's older neighbour, ``link[2x+1]``
its newer one, -1 none.  A list is its two ends, kept by the caller in scalars:
the helpers take ``(head, tail)`` (oldest, newest) and return the new pair.
NOTE: interleaved links and scalar ends are for speed: both links of a key share
a cache line, and ends held in arrays alias the link array (~5x slower).
"""
from __future__ import annotations

from numba import njit

__all__ = ["push", "unlink", "pop_oldest"]


@njit(cache=True, inline="always")
def push(link, x, head, tail):
    """Append ``x`` at the newest end; returns (head, tail)."""
    link[2 * x] = tail
    link[2 * x + 1] = -1
    if tail >= 0:
        link[2 * tail + 1] = x
    else:
        head = x
    return head, x


@njit(cache=True, inline="always")
def unlink(link, x, head, tail):
    """Remove ``x`` from the list; returns (head, tail)."""
    p = link[2 * x]
    q = link[2 * x + 1]
    if p >= 0:
        link[2 * p + 1] = q
    else:
        head = q
    if q >= 0:
        link[2 * q] = p
    else:
        tail = p
    return head, tail


@njit(cache=True, inline="always")
def pop_oldest(link, head, tail):
    """Remove the oldest key; returns (key, head, tail)."""
    x = head
    q = link[2 * x + 1]
    if q >= 0:
        link[2 * q] = -1
    else:
        tail = -1
    return x, q, tail
