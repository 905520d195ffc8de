"""Attention algorithms as tile loop nests over a fast memory of M elements.

Importing this package registers the built-ins in the ``attention`` family:
``naive``, ``flash1``, ``flash2``, ``small_m`` (also ``small-m``), ``chunked``,
``decode`` and ``decode_paged``.  ``memsim.sim.kernel`` counts their I/O and times them.
"""
from .base import AttentionAlgorithm, FastMemory
from .chunked import Chunked
from .decode import Decode
from .decode_paged import DecodePaged
from .flash1 import Flash1
from .flash2 import Flash2
from .naive import Naive
from .small_m import SmallM

__all__ = ["AttentionAlgorithm", "FastMemory", "Naive", "Flash1", "Flash2", "SmallM",
           "Chunked", "Decode", "DecodePaged"]
