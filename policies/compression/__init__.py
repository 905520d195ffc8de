"""KV compression policies (kind ``compression``): eviction to a token budget, low-bit
formats, and selective fetch from DRAM.  Importing the package registers them all;
``base.CompressionPolicy`` is the contract the engine and ``memsim.sim.compress`` call.
"""
from . import (  # noqa: F401
               full,
               h2o,
               infinigen,
               kivi,
               lazy_eviction,
               mikv,
               paged_eviction,
               sage_kv,
               scissorhands,
               shadowkv,
               specache,
               streaming_llm,
               zigzag_kv,
)
from .base import MODES, CompressionPolicy
from .full import FullCache
from .h2o import H2O
from .infinigen import InfiniGen
from .kivi import KIVI
from .lazy_eviction import LazyEviction
from .mikv import MiKV
from .paged_eviction import PagedEviction
from .sage_kv import SAGEKV
from .scissorhands import Scissorhands
from .shadowkv import ShadowKV
from .specache import SpeCache
from .streaming_llm import StreamingLLM
from .zigzag_kv import ZigZagKV

__all__ = ["CompressionPolicy", "MODES", "FullCache", "StreamingLLM", "H2O", "Scissorhands", "SAGEKV",
           "LazyEviction", "PagedEviction", "ZigZagKV", "KIVI", "MiKV", "InfiniGen", "SpeCache",
           "ShadowKV"]
