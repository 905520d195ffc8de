"""Array-backed doubly linked lists for the Numba replay kernels.

Keys are dense ints 0..n-1; one ``link`` array is shared by all lists (a key is
in at most one list at a time): ``link[2x]`` is x's older neighbour, ``link[2x+1]``
its newer one.  ``head[l]`` is list l's oldest key, ``tail[l]`` its newest, -1
means none.  NOTE: one interleaved array, not dicts or two arrays, for speed
(both links of a key share a cache line).
"""
from __future__ import annotations

from numba import njit

__all__ = ["push", "unlink"]


@njit(cache=True, inline="always")
def push(link, head, tail, lst, x):
    """Append ``x`` at the newest end of list ``lst``."""
    t = tail[lst]
    link[2 * x] = t
    link[2 * x + 1] = -1
    if t >= 0:
        link[2 * t + 1] = x
    else:
        head[lst] = x
    tail[lst] = x


@njit(cache=True, inline="always")
def unlink(link, head, tail, lst, x):
    """Remove ``x`` from list ``lst``."""
    p = link[2 * x]
    q = link[2 * x + 1]
    if p >= 0:
        link[2 * p + 1] = q
    else:
        head[lst] = q
    if q >= 0:
        link[2 * q] = p
    else:
        tail[lst] = p
