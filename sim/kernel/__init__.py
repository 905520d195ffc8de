"""The kernel-level simulator: a fast memory (SRAM) of M elements in front of HBM.

It counts the elements attention algorithms move between the two levels (closed
form and tile by tile), compares them with the I/O lower bound, and predicts time
by replaying the tiles with loads overlapped with compute.

    >>> from sim.kernel import attention_io
    >>> attention_io("flash2", n=1024, d=64, sram_elems=16384).ratio > 1
    True
"""
from .attention import attention_io, resolve_algorithm, simulate_tiles
from .bounds import lower_bound, trivial_bound
from .result import AttentionIO
from .search import ALGOS, auto
from .sram import Sram
from .sweep import sweep
from .timing import Machine, machine_from_platform, predict_time, unit_time

__all__ = ["attention_io", "simulate_tiles", "AttentionIO", "lower_bound", "trivial_bound",
           "predict_time", "sweep", "auto", "ALGOS", "Sram", "Machine", "machine_from_platform",
           "unit_time", "resolve_algorithm"]
