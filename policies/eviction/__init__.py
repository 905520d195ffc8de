"""Eviction policies: which stored key to give up next (one policy per file).

Importing this package registers every built-in under its name; ``base.Eviction``
is the interface the engine's tiers and ``memsim.policies.replay`` call.
"""
from .advice import Advice
from .arc import ARC
from .base import CanEvict, Eviction, OfflineEviction
from .belady import Belady
from .clock import Clock
from .fifo import FIFO
from .lfu import LFU
from .lru import LRU
from .s3fifo import S3FIFO
from .sieve import Sieve
from .slru import SLRU
from .ttl import TTL
from .twoq import TwoQ

__all__ = ["Eviction", "OfflineEviction", "CanEvict", "LRU", "FIFO", "Clock", "LFU", "ARC",
           "TwoQ", "SLRU", "S3FIFO", "Sieve", "TTL", "Belady", "Advice"]
