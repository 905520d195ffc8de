"""The KV manager: HBM as a pool of fixed-size blocks, shared prefix blocks in a prefix index.

Every block is owned either privately by one running request or by the prefix
index (an entry per prefix-hash block, pinned by the requests using it).  Free
blocks = total - private - cached.  Cached entries nobody pins are evictable; the
eviction policy (from ``policies``) chooses which one goes, the manager removes
it.  When the policy names a pinned entry, the entry is "parked": taken out of
the policy (``on_remove``) and given back as a fresh insert when its last user
releases it — so a block in use is never scanned twice, whatever the policy.
``check()`` asserts that the counts add up; the engine calls it in tests.
"""
from __future__ import annotations

from dataclasses import dataclass

from memsim.policies import create

__all__ = ["KVManager", "Entry"]


@dataclass(slots=True)
class Entry:
    tokens: int
    blocks: int
    refs: int = 0
    hits: int = 0
    until: float = 0.0   # protected from eviction until then (TTL); 0: not protected


class KVManager:
    """HBM KV blocks for one model replica.

    total_blocks: how many blocks of ``block_tokens`` tokens fit in the KV budget.
    eviction: eviction policy spec (name or dict), built with ``capacity=total_blocks``
        and fed sizes in blocks.
    """

    def __init__(self, *, total_blocks: int, block_tokens: int, block_bytes: int,
                 prefix_cache: bool = True, eviction="lru"):
        self.total_blocks = int(total_blocks)
        self.block_tokens = int(block_tokens)
        self.block_bytes = int(block_bytes)
        self.prefix_cache = prefix_cache
        self.private_blocks = 0
        self.cached_blocks = 0
        self.evictable_blocks = 0
        self.pinned_tokens = 0  # tokens in cache entries some running request uses
        self.entries: dict[int, Entry] = {}
        self.policy = create("eviction", eviction, capacity=self.total_blocks) if prefix_cache else None
        # counters
        self.hit_blocks = 0
        self.miss_blocks = 0
        self.evicted_blocks = 0
        self.evictions = 0
        self.inserted_entries = 0
        self.peak_used_blocks = 0
        self.parked: set[int] = set()
        self._on_miss = getattr(self.policy, "on_miss", None)
        #: called as on_evict(key, tokens, hits, now_s) when an entry leaves HBM (write-back hook)
        self.on_evict = None
        #: called as on_insert(key, tokens, now_s) when an entry enters HBM (a cluster's prefix index)
        self.on_insert = None

    # ---- accounting -----------------------------------------------------------
    @property
    def used_blocks(self) -> int:
        return self.private_blocks + self.cached_blocks

    @property
    def free_blocks(self) -> int:
        return self.total_blocks - self.private_blocks - self.cached_blocks

    def available_blocks(self) -> int:
        """Blocks obtainable now: free plus evictable cached ones."""
        return self.free_blocks + self.evictable_blocks

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_tokens)

    def reserve(self, n: int, now_s: float) -> bool:
        """Make ``n`` blocks free (evicting unpinned cached entries); False if impossible."""
        free = self.total_blocks - self.private_blocks - self.cached_blocks
        if n <= free:
            return True
        if n > free + self.evictable_blocks:
            return False
        # NOTE: locals instead of attribute lookups in this loop, for speed (it runs per victim)
        policy, entries, parked, on_evict = self.policy, self.entries, self.parked, self.on_evict
        victim, on_remove = policy.victim, policy.on_remove
        freed = evictions = 0
        while free + freed < n:
            key = victim(now_s)
            if key is None:
                # only parked entries remain: protected ones (TTL) go, soonest expiry first
                key = min((h for h in parked if entries[h].refs == 0),
                          key=lambda h: (entries[h].until, h), default=None)
                if key is None:  # counts disagree
                    raise AssertionError("eviction policy returned no victim while evictable blocks remain")
                parked.remove(key)
            else:
                e = entries[key]
                on_remove(key)
                if e.refs > 0 or e.until > now_s:  # in use, or protected: park it
                    parked.add(key)
                    continue
            e = entries.pop(key)
            if on_evict is not None:
                on_evict(key, e.tokens, e.hits, now_s)
            freed += e.blocks
            evictions += 1
        self.cached_blocks -= freed
        self.evictable_blocks -= freed
        self.evicted_blocks += freed
        self.evictions += evictions
        return True

    def take(self, n: int, now_s: float) -> bool:
        """Allocate ``n`` private blocks (reserving first); False if they cannot be had."""
        if n <= 0:
            if n < 0:
                self.private_blocks += n
            return True
        if n > self.total_blocks - self.private_blocks - self.cached_blocks and not self.reserve(n, now_s):
            return False
        self.private_blocks += n
        used = self.private_blocks + self.cached_blocks
        if used > self.peak_used_blocks:
            self.peak_used_blocks = used
        return True

    def give_back(self, n: int) -> None:
        self.private_blocks -= n
        assert self.private_blocks >= 0

    # ---- prefix index -----------------------------------------------------------
    def lookup(self, hash_ids, block_tokens_of, now_s: float, max_tokens: int) -> tuple[list[int], int]:
        """Longest cached prefix of ``hash_ids``: pins and returns (ids, tokens).

        Stops before the prefix would cover ``max_tokens`` (at least one token must
        be computed to produce the next one).  Records hits on the policy.
        """
        if not self.prefix_cache or not hash_ids:
            return [], 0
        pinned, tokens = [], 0
        entries, policy = self.entries, self.policy
        for i, h in enumerate(hash_ids):
            e = entries.get(h)
            if e is None:
                break
            t = block_tokens_of(i)
            if tokens + t >= max_tokens:
                break
            if e.refs == 0:
                self.evictable_blocks -= e.blocks
                self.pinned_tokens += e.tokens
            e.refs += 1
            e.hits += 1
            if h not in self.parked:
                policy.on_hit(h, now_s)
            pinned.append(h)
            tokens += t
        return pinned, tokens

    def insert(self, h: int, tokens: int, now_s: float) -> bool:
        """Make ``h`` a cached entry pinned by the caller; False if already cached or no room."""
        if not self.prefix_cache or h in self.entries:
            return False
        blocks = self.blocks_for(tokens)
        if self._on_miss is not None:  # ARC/2Q/S3-FIFO see the incoming key before evicting for it
            self._on_miss(h, blocks, now_s)
        if blocks > self.free_blocks and not self.reserve(blocks, now_s):
            return False
        self.entries[h] = Entry(tokens=tokens, blocks=blocks, refs=1)
        self.cached_blocks += blocks
        self.pinned_tokens += tokens
        self.inserted_entries += 1
        self.policy.on_insert(h, blocks, now_s)
        if self.used_blocks > self.peak_used_blocks:
            self.peak_used_blocks = self.used_blocks
        if self.on_insert is not None:
            self.on_insert(h, tokens, now_s)
        return True

    def donate(self, hash_ids, start: int, tokens_of, priv_tokens: int, held: int, now_s: float,
               skip=None, on_insert=None):
        """Turn a request's private prompt blocks ``hash_ids[start:]`` into cache entries it pins.

        ``priv_tokens``/``held``: the request's private tokens and blocks.  Stops at the
        first block already cached or that cannot get room.  Returns (ids donated,
        tokens donated, private blocks the request still holds).
        """
        B = self.block_tokens
        entries, policy, on_miss, listen = self.entries, self.policy, self._on_miss, self.on_insert
        donated, dtok = [], 0
        for i in range(start, len(hash_ids)):
            h = hash_ids[i]
            if skip is not None and h in skip:
                continue
            if h in entries:
                break
            t = tokens_of(i)
            blocks = -(-t // B)
            after = -(-(priv_tokens - t) // B)
            freed = held - after
            if on_miss is not None:
                on_miss(h, blocks, now_s)
            extra = blocks - freed  # 0 when the block is aligned; the entry may need one more
            if extra > 0:
                self.private_blocks -= freed
                ok = self.reserve(blocks, now_s) if blocks > self.free_blocks else True
                self.private_blocks += freed
                if not ok:
                    break
            self.private_blocks -= freed
            entries[h] = Entry(tokens=t, blocks=blocks, refs=1)
            self.cached_blocks += blocks
            self.pinned_tokens += t
            self.inserted_entries += 1
            policy.on_insert(h, blocks, now_s)
            priv_tokens -= t
            held = after
            donated.append(h)
            dtok += t
            if on_insert is not None:
                on_insert(h, t, now_s)
            if listen is not None:
                listen(h, t, now_s)
        used = self.private_blocks + self.cached_blocks
        if used > self.peak_used_blocks:
            self.peak_used_blocks = used
        return donated, dtok, held

    def unpin(self, ids, now_s: float) -> None:
        entries, parked = self.entries, self.parked
        for h in ids:
            e = entries[h]
            e.refs -= 1
            if e.refs == 0:
                self.evictable_blocks += e.blocks
                self.pinned_tokens -= e.tokens
                if h in parked and e.until <= now_s:
                    parked.remove(h)
                    self.policy.on_insert(h, e.blocks, now_s)

    def protect(self, ids, until_s: float) -> None:
        """Evict these entries only after every unprotected one, until ``until_s`` (a TTL)."""
        for h in ids:
            e = self.entries.get(h)
            if e is not None:
                e.until = max(e.until, until_s)

    def unprotect(self, ids, now_s: float) -> None:
        """A TTL ran out: entries still parked and unused rejoin the policy's order."""
        for h in ids:
            e = self.entries.get(h)
            if e is None or e.until > now_s:
                continue
            if h in self.parked and e.refs == 0:
                self.parked.remove(h)
                self.policy.on_insert(h, e.blocks, now_s)

    def count_lookup(self, hits: int, total: int) -> None:
        self.hit_blocks += hits
        self.miss_blocks += total - hits

    def check(self) -> None:
        """Assert block counts: nothing negative, nothing over capacity, cache sums match."""
        assert 0 <= self.private_blocks, self.private_blocks
        assert self.used_blocks <= self.total_blocks, (self.used_blocks, self.total_blocks)
        assert sum(e.blocks for e in self.entries.values()) == self.cached_blocks
        assert sum(e.blocks for e in self.entries.values() if e.refs == 0) == self.evictable_blocks
        assert all(e.refs >= 0 for e in self.entries.values())
        assert sum(e.tokens for e in self.entries.values() if e.refs > 0) == self.pinned_tokens
        if self.policy is not None:
            assert len(self.policy) + len(self.parked) == len(self.entries), \
                (len(self.policy), len(self.parked), len(self.entries))
            assert all(self.entries[h].refs > 0 or self.entries[h].until > 0 for h in self.parked)
            self.policy.check()
