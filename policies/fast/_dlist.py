"""Array-backed doubly linked lists for the Numba replay kernels.

Keys are dense ints 0..n-1; one ``prev``/``nxt`` pair is shared by all lists (a
key is in at most one list at a time); ``head[l]`` is list l's oldest key,
``tail[l]`` its newest, -1 means none.  NOTE: arrays, not dicts, for speed.
"""
from __future__ import annotations

from numba import njit

__all__ = ["push", "unlink"]


@njit(cache=True)
def push(prev, nxt, head, tail, lst, x):
    """Append ``x`` at the newest end of list ``lst``."""
    t = tail[lst]
    prev[x] = t
    nxt[x] = -1
    if t >= 0:
        nxt[t] = x
    else:
        head[lst] = x
    tail[lst] = x


@njit(cache=True)
def unlink(prev, nxt, head, tail, lst, x):
    """Remove ``x`` from list ``lst``."""
    p = prev[x]
    q = nxt[x]
    if p >= 0:
        nxt[p] = q
    else:
        head[lst] = q
    if q >= 0:
        prev[q] = p
    else:
        tail[lst] = p
    prev[x] = -1
    nxt[x] = -1
