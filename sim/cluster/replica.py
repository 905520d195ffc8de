"""One replica of a cluster: its parts, serve loop and recorder, and what a router sees of it.

``Replica`` owns what a single engine owns (cost model, KV manager, hierarchy,
scheduler, serve loop, recorder) plus an inbox of requests routed to it and not yet
admitted.  ``Replica`` is also the router's read-only view (``ReplicaView`` in
``policies/router/base.py``): every member is O(1) except ``cached_prefix_tokens``,
which reads the cluster's ``PrefixIndex`` (one walk per routing decision, shared by
every view).
"""
from __future__ import annotations

from collections import deque

from ..seq import _aligned

__all__ = ["Replica", "RoutedArrivals", "AlignedIds"]


class RoutedArrivals:
    """A replica's arrivals: what the cluster's router sent it (the serve loop's ``arrivals``)."""

    external = True

    def __init__(self, cluster, replica: "Replica"):
        self.cluster, self.replica = cluster, replica

    def admit(self, sched, now: float, horizon: float | None = None) -> None:
        # route what is due first: an arrival stamped now is seen at this step, as in one engine
        self.cluster.dispatch(now)
        inbox = self.replica.inbox
        while inbox:
            sched.arrive(inbox.popleft(), now)
        if self.replica.role == "decode":   # prompts' KV handed over by prefill replicas
            self.cluster.handoff.admit(self.replica, now)

    def next_arrival_s(self) -> None:
        return None   # not known here: the router wakes the loop

    def done(self) -> bool:
        return not self.replica.inbox and self.cluster.no_more_for(self.replica)


class Replica:
    """One model replica in the cluster, and its ``ReplicaView``."""

    def __init__(self, index: int, pool: str, role: str, parts, wake, prefix_index, aligned: AlignedIds):
        self.index, self.pool, self.role = index, pool, role
        self.parts = parts
        self.sched, self.kv = parts.sched, parts.kv
        self.wake = wake
        self.inbox: deque = deque()
        self.inbound = 0         # decode replica: requests whose KV is on its way or waits for blocks
        self.routed = 0          # requests sent here (arrivals, or KV handed over)
        self.left = 0            # of those, no longer here (finished, rejected, handed to a decode replica)
        self.loop = None         # its ServeLoop, set by the cluster
        self.recorder = None
        self._index = prefix_index
        self._aligned = aligned
        parts.sched.replica = index
        if prefix_index is not None and parts.kv.prefix_cache:
            kv = parts.kv
            kv.on_insert = lambda h, _t, _now: prefix_index.add(index, h)
            below = kv.on_evict

            def evicted(h, tokens, hits, now, below=below):
                prefix_index.remove(index, h)
                if below is not None:        # the hierarchy's write-back keeps working
                    below(h, tokens, hits, now)
            kv.on_evict = evicted

    def submit(self, request) -> None:
        """The router chose this replica for ``request``: queue it and wake the serve loop."""
        self.inbox.append(request)
        self.routed += 1
        self.wake()

    # ---- ReplicaView ---------------------------------------------------------------
    @property
    def queue_length(self) -> int:
        return len(self.inbox) + self.sched.queued() + self.inbound

    @property
    def running(self) -> int:
        return self.sched.running()

    @property
    def outstanding(self) -> int:
        return self.routed - self.left

    @property
    def kv_blocks_total(self) -> int:
        return self.kv.total_blocks

    @property
    def kv_blocks_used(self) -> int:
        kv = self.kv
        return kv.private_blocks + kv.cached_blocks - kv.evictable_blocks

    @property
    def kv_blocks_free(self) -> int:
        return self.kv_blocks_total - self.kv_blocks_used

    def cached_prefix_tokens(self, request) -> int:
        if self._index is None or not request.hash_ids or not self.kv.prefix_cache:
            return 0
        ids, hb = self._aligned(request, self.kv.block_tokens)
        n = self._index.matched_blocks(ids)[self.index]
        return min(request.input_tokens, n * hb)

    def __repr__(self) -> str:
        return f"Replica({self.index}, pool={self.pool!r}, role={self.role!r})"


class AlignedIds:
    """A request's hash ids grouped as its replicas' KV managers key them (``Seq``'s rule).

    One per cluster.  The same tuple object comes back for every view of one routing
    decision, which lets the prefix index answer all of them from one walk."""

    def __init__(self):
        self._req = None
        self._key = None
        self._val = ((), 0)

    def __call__(self, request, block_tokens: int):
        if request is not self._req or block_tokens != self._key:
            self._req, self._key = request, block_tokens
            self._val = _aligned(request.hash_ids or (), request.hash_block_tokens, block_tokens)
        return self._val
