"""A KV store shared by every replica (Mooncake Store style): one tier, many readers and writers.

The pool is one ``TierStore`` (capacity, chunks, eviction policy) that every
replica's hierarchy uses as its last tier; only its paths differ per replica (pool
memory -> spine -> that replica's NIC, and back).  A block is written once however
many replicas evict it at the same time: a write is claimed before its transfer
starts and released when it lands, cluster-wide.  Per-replica counters say who
read and wrote what.
"""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ..tierstore import TierStore
from .network import ClusterNetwork

__all__ = ["SharedKVPool"]


class SharedKVPool:
    """``store`` shared by the replicas of ``network``; reads and writes cross each replica's NIC."""

    def __init__(self, store: TierStore, network: ClusterNetwork, hw=None):
        self.store = store
        self.network = network
        self.hw = hw          # the platform tier the pool is made of (its latency, granularity)
        n = len(network.placements)
        self._writing: set[int] = set()          # block hashes with a write in flight
        self.hit_blocks = [0] * n
        self.read_bytes = [0] * n
        self.written_bytes = [0] * n
        self.duplicate_writes_avoided = 0

    def store_for(self, kv_bytes_per_token: int) -> TierStore:
        """The store, for a replica whose KV takes ``kv_bytes_per_token`` (it must be the pool's)."""
        if kv_bytes_per_token != self.store.kv_bytes_per_token:
            raise ConfigError(f"a replica stores {kv_bytes_per_token} KV bytes per token, the pool "
                              f"{self.store.kv_bytes_per_token}: one pool serves one model's KV layout",
                              field="cluster.kv_pool")
        return self.store

    # ---- paths (what each replica's hierarchy uses for this tier) ---------------------------
    def read_path(self, replica: int):
        return self.network.pool_read_path(replica)

    def write_path(self, replica: int):
        return self.network.pool_write_path(replica)

    # ---- writes -------------------------------------------------------------------------------
    def claim(self, h: int) -> bool:
        """True if the caller should write block ``h`` (not stored, no write in flight); claims it."""
        if h in self.store.entries:
            return False
        if h in self._writing:
            self.duplicate_writes_avoided += 1
            return False
        self._writing.add(h)
        return True

    def writing(self, h: int) -> bool:
        return h in self._writing

    def landed(self, replica: int, h: int, tokens: int, now_s: float):
        """A claimed write of ``h`` arrived: store it (what ``TierStore.insert`` returns) and release it."""
        assert h in self._writing, f"block {h} landed without a claim"
        self._writing.discard(h)
        evicted = self.store.insert(h, tokens, now_s)
        if evicted is not None:
            self.written_bytes[replica] += self.store.bytes_for(tokens)
        return evicted

    # ---- reads --------------------------------------------------------------------------------
    def read(self, replica: int, h: int, tokens: int, now_s: float) -> int:
        """Replica ``replica`` loads block ``h``: count the hit, pin it; returns the bytes to move.

        The caller starts the transfer on ``read_path(replica)`` and calls ``done_reading``
        when it ends.
        """
        self.store.touch(h, now_s)
        self.store.pin(h)
        nbytes = self.store.bytes_for(tokens)
        self.store.hit_tokens += tokens
        self.store.bytes_read += nbytes
        self.hit_blocks[replica] += 1
        self.read_bytes[replica] += nbytes
        return nbytes

    def done_reading(self, h: int, now_s: float) -> None:
        self.store.unpin(h, now_s)

    def check(self, read_bytes=None) -> None:
        """``read_bytes``: per replica, the bytes it loaded (a hierarchy counts its own loads)."""
        self.store.check()
        assert not (self._writing & set(self.store.entries)), "a stored block still claimed for writing"
        assert sum(self.read_bytes if read_bytes is None else read_bytes) == self.store.bytes_read
        assert sum(self.written_bytes) == self.store.bytes_written
