"""The router interface: which replica serves a request (or which decode replica takes its KV).

A cluster calls its router once per arrival (and, under prefill/decode
disaggregation, a second router once per finished prefill).  The router sees
each candidate replica only through a small read-only ``ReplicaView`` and the
request through ``RoutedRequest``, so a notebook cell can define one and a test
can drive it with ``ReplicaSnapshot`` objects instead of a running engine.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..registry import declare_kind

__all__ = ["Router", "ReplicaView", "RoutedRequest", "ReplicaSnapshot", "ROLES"]

#: What a replica does: ``mixed`` serves whole requests; ``prefill`` computes prompts and
#: hands their KV to a ``decode`` replica, which generates the output tokens.
ROLES = ("mixed", "prefill", "decode")


@runtime_checkable
class RoutedRequest(Protocol):
    """What a router may read of a request (``memsim.workloads.Request`` has all of it).

    ``hash_ids`` are chained prefix-block hashes of ``hash_block_tokens`` tokens each
    (``None`` when the workload carries none); ``session_id`` is -1 outside sessions.
    """

    request_id: int
    arrival_s: float
    input_tokens: int
    output_tokens: int
    hash_ids: tuple[int, ...] | None
    hash_block_tokens: int
    session_id: int


@runtime_checkable
class ReplicaView(Protocol):
    """One replica as a router sees it: read-only, every member O(1) except the prefix lookup.

    * ``index``: the replica's position in the cluster (stable for the whole run).
    * ``pool``, ``role``: the pool it belongs to and its role (one of ``ROLES``).
    * ``queue_length``: requests routed here and not yet admitted to a batch (for a
      decode replica: requests whose KV is on its way or waits for blocks).
    * ``running``: sequences in its batch (prefilling, loading or decoding).
    * ``outstanding``: requests routed here and not finished (queued + running).
    * ``kv_blocks_total``: HBM KV blocks the replica has.
    * ``kv_blocks_used``: blocks running requests hold (private blocks and cached
      blocks some request pins); unpinned cached blocks are reclaimable, so not used.
    * ``kv_blocks_free``: ``kv_blocks_total - kv_blocks_used``.
    * ``cached_prefix_tokens(request)``: prompt tokens of ``request`` whose KV this
      replica holds in HBM now (the longest cached prefix); 0 without ``hash_ids``.

    A view never changes when a router reads it; what a router decides takes effect
    only after ``route`` returns.
    """

    index: int
    pool: str
    role: str
    queue_length: int
    running: int
    outstanding: int
    kv_blocks_total: int
    kv_blocks_used: int
    kv_blocks_free: int

    def cached_prefix_tokens(self, request: RoutedRequest) -> int: ...


@runtime_checkable
class Router(Protocol):
    """Choose the replica a request goes to.

    ``route(request, replicas, now_s)`` is called once per routing decision with a
    non-empty sequence of the candidate replicas (all of the role being routed to,
    in cluster order; the same sequence object for every call of one stage) and the
    simulated time in seconds.  It returns a position in ``replicas`` (0-based int).
    It may update the router's own state (a cursor, a session table) but never the
    views.  It must be deterministic given its inputs and its own seeded ``rng``;
    it should cost O(len(replicas)) or less (it runs on every arrival).
    """

    name: str

    def route(self, request: RoutedRequest, replicas: Sequence[ReplicaView], now_s: float) -> int: ...


declare_kind("router", Router)


@dataclass
class ReplicaSnapshot:
    """A fixed ``ReplicaView`` for notebooks and tests: numbers given, a set of cached block hashes.

    ``cached`` holds the chained prefix-block hashes in its HBM; the longest cached
    prefix of a request is its leading run of ``hash_ids`` found there, in tokens.
    """

    index: int
    role: str = "mixed"
    pool: str = "default"
    queue_length: int = 0
    running: int = 0
    outstanding: int | None = None   # default: queue_length + running
    kv_blocks_total: int = 1000
    kv_blocks_used: int = 0
    cached: Iterable[Hashable] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role={self.role!r}; expected one of {', '.join(ROLES)}")
        if self.outstanding is None:
            self.outstanding = self.queue_length + self.running
        if not 0 <= self.kv_blocks_used <= self.kv_blocks_total:
            raise ValueError(f"kv_blocks_used={self.kv_blocks_used} must lie in [0, kv_blocks_total="
                             f"{self.kv_blocks_total}]")
        self.cached = frozenset(self.cached)

    @property
    def kv_blocks_free(self) -> int:
        return self.kv_blocks_total - self.kv_blocks_used

    def cached_prefix_tokens(self, request: RoutedRequest) -> int:
        ids = request.hash_ids or ()
        n = 0
        for h in ids:
            if h not in self.cached:
                break
            n += 1
        return min(request.input_tokens, n * request.hash_block_tokens)
