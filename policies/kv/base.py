"""The interfaces of the KV policies beyond HBM: allocation, write, promotion, load,
prefetch, overlap.

Each is a small synchronous object the engine asks at fixed points; none keeps
engine state.  Decisions that depend on a policy's nature read the capability
attributes declared here (``shares_prefix_blocks``, ``can_demote``, ...), never its
name.  Units: tokens, seconds, counts.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["Allocation", "Write", "Promotion", "Load", "Prefetch", "Overlap"]


@runtime_checkable
class Allocation(Protocol):
    """How much HBM a request holds, and in what unit (the engine calls these at admission).

    * ``unit_tokens(block_tokens, kv_bytes_per_token, layers)`` -> allocation
      granularity in tokens: a request's KV grows in whole units.
    * ``reserve_tokens(input_tokens, output_tokens, rng)`` -> tokens reserved at
      admission (0: grow on demand); ``rng`` is the scenario's generator.
    * ``regrow_tokens(needed_tokens, input_tokens, output_tokens)`` -> the new
      reservation (>= needed_tokens) of a request that outgrew its own.
    * ``shares_prefix_blocks``: True if blocks are fixed-size pages that requests
      can share (only then can a prefix cache reuse them).
    """

    name: str
    shares_prefix_blocks: bool

    def unit_tokens(self, block_tokens: int, kv_bytes_per_token: float, layers: int) -> int: ...

    def reserve_tokens(self, input_tokens: int, output_tokens: int, rng: Any) -> int: ...

    def regrow_tokens(self, needed_tokens: int, input_tokens: int, output_tokens: int) -> int: ...


@runtime_checkable
class Write(Protocol):
    """When a KV block gets a copy in the next tier down.

    * ``through``: copy a block to the next tier as soon as it enters a tier.
    * ``can_demote``: True if ``demote`` may ever return True (the engine then
      expects evictions to start writes and plans around them).
    * ``demote(hits)`` -> on eviction from a tier, copy the block down?  ``hits``
      is how often the block was reused in that tier.
    """

    name: str
    through: bool
    can_demote: bool

    def demote(self, hits: int) -> bool: ...


@runtime_checkable
class Promotion(Protocol):
    """What a block loaded from a lower tier becomes.

    * ``cache_in_hbm``: True -> the loaded copy becomes an HBM prefix-cache entry
      (copy up); False -> it serves the request and is dropped (in place).
    """

    name: str
    cache_in_hbm: bool


@runtime_checkable
class Load(Protocol):
    """Load a found prefix from a lower tier, or recompute it.

    * ``choose(load_s, recompute_s)`` -> how many of the found blocks to load
      (a prefix of them); ``load_s[j]`` / ``recompute_s[j]`` are the estimated
      seconds to load / recompute the first j found blocks (index 0 is 0.0).
    """

    name: str

    def choose(self, load_s: Any, recompute_s: Any) -> int: ...


@runtime_checkable
class Prefetch(Protocol):
    """Promote a queued request's prefix before it is admitted.

    * ``on_arrival``: start promoting the prefix into the fastest lower tier on arrival.
    * ``wait_s``: how long admission may wait for those prefetches (0: never wait).
    """

    name: str
    on_arrival: bool
    wait_s: float


@runtime_checkable
class Overlap(Protocol):
    """Whether a request's KV load overlaps its prefill.

    * ``layerwise``: True -> layer i+1's KV loads while layer i computes.
    """

    name: str
    layerwise: bool


declare_kind("allocation", Allocation)
declare_kind("write", Write)
declare_kind("promotion", Promotion)
declare_kind("load", Load)
declare_kind("prefetch", Prefetch)
declare_kind("overlap", Overlap)
