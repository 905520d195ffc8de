"""Eviction policies: which stored key to give up next (one policy per file).

Importing this package registers every built-in under its name; ``base.Eviction``
is the interface the engine's tiers and ``policies.replay`` call.
"""
from .base import CanEvict, Eviction, OfflineEviction
from .lru import LRU
from .fifo import FIFO
from .clock import Clock
from .lfu import LFU
from .arc import ARC
from .twoq import TwoQ
from .slru import SLRU
from .s3fifo import S3FIFO
from .sieve import Sieve
from .ttl import TTL
from .belady import Belady
from .advice import Advice

__all__ = ["Eviction", "OfflineEviction", "CanEvict", "LRU", "FIFO", "Clock", "LFU", "ARC",
           "TwoQ", "SLRU", "S3FIFO", "Sieve", "TTL", "Belady", "Advice"]
