"""The contract of an expert-prefetch policy: at a layer boundary, which experts to start fetching.

An MoE model's experts live in a lower tier (DRAM, SSD) with an HBM cache per layer.
When a layer's router has chosen its experts, the layer is about to run; experts
fetched from now on overlap with its compute.  The policy answers which experts of
*later* layers to fetch now, within a budget; misses of the layer itself are the
caller's (demand fetches, issued first).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["ExpertPrefetch", "Cached"]

#: ``cached(layer, expert) -> bool``: True if that layer's HBM cache holds the expert or is
#: already fetching it.
Cached = Callable[[int, int], bool]


@runtime_checkable
class ExpertPrefetch(Protocol):
    """Which experts of later layers to start fetching at one layer boundary.

    Contract.  The caller runs the model layer by layer, iteration after
    iteration (an iteration: one step of the batch through all ``layers``), and at
    every layer, after that layer's router has chosen, calls
    ``plan(layer, current, upcoming, cached)`` exactly once, in order:

    * ``layer``: 0-based index of the layer about to run.
    * ``current``: the experts (ids in ``0 .. experts - 1``, sorted, distinct) the
      batch uses at ``layer`` in this iteration.
    * ``upcoming``: ``{later_layer: experts}`` for ``layer + 1 .. layer +
      lookahead_layers`` (at most up to the last layer): the routing of later
      layers, known ahead only to a policy that declares ``lookahead_layers > 0``
      (a pre-gating router computes it early); ``{}`` otherwise.
    * ``cached(layer, expert)``: whether an expert is in that layer's HBM cache or
      on its way there.  Reading it changes nothing.

    It returns ``[(target_layer, expert), ...]``: the experts it wants in HBM for
    later layers, in priority order, each ``target_layer`` in ``(layer + d) %
    layers`` for ``d >= 1`` (the next iteration's first layers follow the last one).
    Pairs already cached are *kept*: the fetches of this plan do not evict them,
    and they cost nothing.  The others are fetched, in order, until ``budget``
    fetches have started; each is inserted into its layer's cache (evicting by that
    cache's policy, never a kept pair) and moves over the link behind this layer's
    demand fetches, overlapped with this layer's compute.  ``plan`` may update the
    policy's own history with ``current`` (it is the only place the policy learns
    the routing); it never changes the arguments.

    Attributes: ``name``; ``lookahead_layers`` (int >= 0, layers of future routing
    the policy needs); ``budget`` (int >= 0, experts per boundary).  The caller
    passes ``layers``, ``experts`` and a default ``budget`` (the model's active
    experts per token) to the constructor.  ``check()`` asserts the policy's own
    invariants.
    """

    name: str
    lookahead_layers: int
    budget: int

    def __init__(self, *, layers: int, experts: int, budget: int, **params) -> None: ...

    def plan(self, layer: int, current: Sequence[int], upcoming: Mapping[int, Sequence[int]],
             cached: Cached) -> list[tuple[int, int]]: ...

    def check(self) -> None: ...


declare_kind("expert_prefetch", ExpertPrefetch)
