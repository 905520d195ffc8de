"""A lower KV tier (DRAM, CXL, SSD, remote): prefix-hash entries stored in fixed-size chunks.

An entry is one prefix-hash block of KV; it occupies ``ceil(tokens / chunk_tokens)``
chunks of ``chunk_tokens * kv_bytes_per_token`` bytes.  The tier's eviction policy
orders entries; entries being read are pinned and, if the policy names one, parked
until the read ends (as in the HBM KV manager).
"""
from __future__ import annotations

from dataclasses import dataclass

from memsim.policies import create

__all__ = ["TierStore", "StoredEntry", "UNLIMITED"]

#: Capacity (chunks) used for a tier declared ``capacity: unlimited``.
UNLIMITED = 1 << 62


@dataclass(slots=True)
class StoredEntry:
    tokens: int
    chunks: int
    refs: int = 0
    hits: int = 0


class TierStore:
    def __init__(self, *, name: str, kind: str, capacity_bytes: int | None, chunk_tokens: int,
                 kv_bytes_per_token: int, eviction="lru"):
        self.name, self.kind = name, kind
        self.chunk_tokens = int(chunk_tokens)
        self.chunk_bytes = int(chunk_tokens * kv_bytes_per_token)
        self.kv_bytes_per_token = int(kv_bytes_per_token)
        self.capacity_chunks = UNLIMITED if capacity_bytes is None else int(capacity_bytes // self.chunk_bytes)
        self.unlimited = capacity_bytes is None
        self.policy = create("eviction", eviction, capacity=self.capacity_chunks)
        self.entries: dict[int, StoredEntry] = {}
        self.parked: set[int] = set()
        self.used_chunks = 0
        self.peak_chunks = 0
        # counters (blocks = prefix-hash entries)
        self.hit_blocks = self.hit_tokens = 0
        self.miss_blocks = 0
        self.inserted = self.evicted = self.rejected = 0
        self.bytes_read = self.bytes_written = 0

    def chunks_for(self, tokens: int) -> int:
        return -(-tokens // self.chunk_tokens)

    def bytes_for(self, tokens: int) -> int:
        """Bytes a read/write of this entry moves (whole chunks)."""
        return self.chunks_for(tokens) * self.chunk_bytes

    def __contains__(self, h) -> bool:
        return h in self.entries

    @property
    def used_bytes(self) -> int:
        return self.used_chunks * self.chunk_bytes

    @property
    def capacity_bytes(self) -> float:
        return float("inf") if self.unlimited else self.capacity_chunks * self.chunk_bytes

    def insert(self, h: int, tokens: int, now_s: float, *, hits: int = 0) -> list[tuple[int, StoredEntry]] | None:
        """Store ``h``; returns the entries evicted to make room, or None if it cannot fit."""
        if h in self.entries:
            return []
        need = self.chunks_for(tokens)
        if need > self.capacity_chunks:
            self.rejected += 1
            return None
        evicted = []
        policy, entries = self.policy, self.entries
        on_miss = getattr(policy, "on_miss", None)
        if on_miss is not None:  # ARC/2Q/S3-FIFO see the incoming key before evicting for it
            on_miss(h, need, now_s)
        while self.used_chunks + need > self.capacity_chunks:
            key = policy.victim(now_s)
            if key is None:  # everything left is pinned by reads in flight
                self.rejected += 1
                return None
            e = entries[key]
            policy.on_remove(key)
            if e.refs > 0:
                self.parked.add(key)
                continue
            del entries[key]
            self.used_chunks -= e.chunks
            self.evicted += 1
            evicted.append((key, e))
        self.entries[h] = StoredEntry(tokens=tokens, chunks=need, hits=hits)
        self.used_chunks += need
        self.peak_chunks = max(self.peak_chunks, self.used_chunks)
        self.inserted += 1
        self.bytes_written += need * self.chunk_bytes
        policy.on_insert(h, need, now_s)
        return evicted

    def touch(self, h: int, now_s: float) -> None:
        """A lookup found ``h`` here."""
        e = self.entries[h]
        e.hits += 1
        if h not in self.parked:
            self.policy.on_hit(h, now_s)

    def pin(self, h: int) -> None:
        self.entries[h].refs += 1

    def unpin(self, h: int, now_s: float) -> None:
        e = self.entries.get(h)
        if e is None:
            return
        e.refs -= 1
        if e.refs == 0 and h in self.parked:
            self.parked.remove(h)
            self.policy.on_insert(h, e.chunks, now_s)

    def check(self) -> None:
        assert self.used_chunks == sum(e.chunks for e in self.entries.values())
        assert self.used_chunks <= self.capacity_chunks
        assert len(self.policy) + len(self.parked) == len(self.entries)
        assert all(e.refs >= 0 for e in self.entries.values())
        self.policy.check()
