"""A lower KV tier (DRAM, CXL, SSD, remote): prefix-hash entries stored in fixed-size chunks.

An entry is one prefix-hash block of KV; it occupies ``ceil(tokens / chunk_tokens)``
chunks of ``chunk_tokens * kv_bytes_per_token`` bytes.  The entries live in a
``BlockPool`` (``memsim.policies.pool``, the storage and eviction loop the HBM KV
manager and the trace replay use too), sized in chunks; entries being read are
pinned and, if the policy names one, parked until the read ends.
"""
from __future__ import annotations

from memsim.policies import create
from memsim.policies.pool import BlockPool, Entry

__all__ = ["TierStore", "StoredEntry", "UNLIMITED"]

#: Capacity (chunks) used for a tier declared ``capacity: unlimited``.
UNLIMITED = 1 << 62

#: A tier's entry is the pool's (``size`` in chunks).
StoredEntry = Entry


class TierStore:
    """One lower tier: ``pool`` holds the entries and the hit/miss/insert/eviction counters
    (prefix-hash entries; ``evicted_size`` in chunks); the byte counters are the tier's."""

    def __init__(self, *, name: str, kind: str, capacity_bytes: int | None, chunk_tokens: int,
                 kv_bytes_per_token: int, eviction="lru"):
        self.name, self.kind = name, kind
        self.chunk_tokens = int(chunk_tokens)
        self.chunk_bytes = int(chunk_tokens * kv_bytes_per_token)
        self.kv_bytes_per_token = int(kv_bytes_per_token)
        self.capacity_chunks = UNLIMITED if capacity_bytes is None else int(capacity_bytes // self.chunk_bytes)
        self.unlimited = capacity_bytes is None
        self.policy = create("eviction", eviction, capacity=self.capacity_chunks)
        self.pool = BlockPool(self.policy, self.capacity_chunks)
        self.entries = self.pool.entries
        self.parked = self.pool.parked
        self.hit_tokens = 0
        self.bytes_read = self.bytes_written = 0

    def chunks_for(self, tokens: int) -> int:
        return -(-tokens // self.chunk_tokens)

    def bytes_for(self, tokens: int) -> int:
        """Bytes a read/write of this entry moves (whole chunks)."""
        return self.chunks_for(tokens) * self.chunk_bytes

    def __contains__(self, h) -> bool:
        return h in self.entries

    @property
    def used_chunks(self) -> int:
        return self.pool.used

    @property
    def peak_chunks(self) -> int:
        return self.pool.peak

    @property
    def used_bytes(self) -> int:
        return self.pool.used * self.chunk_bytes

    @property
    def capacity_bytes(self) -> float:
        return float("inf") if self.unlimited else self.capacity_chunks * self.chunk_bytes

    def insert(self, h: int, tokens: int, now_s: float, *, hits: int = 0) -> list[tuple[int, Entry]] | None:
        """Store ``h``; returns the entries evicted to make room, or None if it cannot fit."""
        if h in self.entries:
            return []
        need = self.chunks_for(tokens)
        evicted: list = []
        if not self.pool.insert(h, Entry(tokens=tokens, size=need, hits=hits), now_s, evicted=evicted):
            return None
        self.bytes_written += need * self.chunk_bytes
        return evicted

    def touch(self, h: int, now_s: float) -> None:
        """A lookup found ``h`` here."""
        self.pool.hit(h, now_s)

    def pin(self, h: int) -> None:
        self.pool.pin(h)

    def unpin(self, h: int, now_s: float) -> None:
        if h in self.entries:
            self.pool.unpin(h, now_s)

    def check(self) -> None:
        self.pool.check()
