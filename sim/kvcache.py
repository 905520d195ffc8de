"""The KV manager: HBM as a pool of fixed-size blocks, shared prefix blocks in a prefix index.

Every block is owned either privately by one running request or by the prefix
index (an entry per prefix-hash block, pinned by the requests using it).  Free
blocks = total - private - cached.  The cached entries live in a ``BlockPool``
(``memsim.policies.pool``, the same storage and eviction loop as every lower tier
and the trace replay): entries nobody pins are evictable, the eviction policy
chooses which one goes, entries it names while pinned or TTL-protected are
parked until released.  ``check()`` asserts that the counts add up; the engine
calls it in tests.
"""
from __future__ import annotations

from memsim.policies import create
from memsim.policies.pool import BlockPool, Entry

__all__ = ["KVManager", "Entry"]


class KVManager:
    """HBM KV blocks for one model replica.

    total_blocks: how many blocks of ``block_tokens`` tokens fit in the KV budget.
    eviction: eviction policy spec (name or dict), built with ``capacity=total_blocks``
        and fed sizes in blocks.
    ``pool`` holds the cached entries and the counters (``hits``/``misses`` in
    prefix-hash blocks, ``evictions`` in entries, ``evicted_size`` in KV blocks).
    """

    def __init__(self, *, total_blocks: int, block_tokens: int, block_bytes: int,
                 prefix_cache: bool = True, eviction="lru"):
        self.total_blocks = int(total_blocks)
        self.block_tokens = int(block_tokens)
        self.block_bytes = int(block_bytes)
        self.prefix_cache = prefix_cache
        self.private_blocks = 0
        self.pinned_tokens = 0  # tokens in cache entries some running request uses
        self.policy = create("eviction", eviction, capacity=self.total_blocks) if prefix_cache else None
        self.pool = BlockPool(self.policy, self.total_blocks)
        self.entries = self.pool.entries
        self.parked = self.pool.parked
        self.peak_used_blocks = 0
        #: called as on_evict(key, tokens, hits, now_s) when an entry leaves HBM (write-back hook)
        self.on_evict = None
        #: called as on_insert(key, tokens, now_s) when an entry enters HBM (a cluster's prefix index)
        self.on_insert = None

    # ---- accounting -----------------------------------------------------------
    @property
    def cached_blocks(self) -> int:
        return self.pool.used

    @property
    def evictable_blocks(self) -> int:
        return self.pool.evictable

    @property
    def used_blocks(self) -> int:
        return self.private_blocks + self.pool.used

    @property
    def free_blocks(self) -> int:
        return self.total_blocks - self.private_blocks - self.pool.used

    def available_blocks(self) -> int:
        """Blocks obtainable now: free plus evictable cached ones."""
        return self.total_blocks - self.private_blocks - self.pool.used + self.pool.evictable

    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_tokens)

    def reserve(self, n: int, now_s: float) -> bool:
        """Make ``n`` blocks free (evicting unpinned cached entries); False if impossible."""
        pool = self.pool
        free = self.total_blocks - self.private_blocks - pool.used
        if n <= free:
            return True
        if n > free + pool.evictable:
            return False
        on_evict = self.on_evict
        evicted = [] if on_evict is not None else None
        if pool.evict(n - free, now_s, evicted) is None:  # counts disagree
            raise AssertionError("eviction policy returned no victim while evictable blocks remain")
        if evicted:
            for key, e in evicted:
                on_evict(key, e.tokens, e.hits, now_s)
        return True

    def take(self, n: int, now_s: float) -> bool:
        """Allocate ``n`` private blocks (reserving first); False if they cannot be had."""
        if n <= 0:
            if n < 0:
                self.private_blocks += n
            return True
        if n > self.total_blocks - self.private_blocks - self.pool.used and not self.reserve(n, now_s):
            return False
        self.private_blocks += n
        used = self.private_blocks + self.pool.used
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
        pool = self.pool
        # NOTE: BlockPool.pin and .hit inlined, for speed (this runs per prompt block)
        entries, parked, on_hit = pool.entries, pool.parked, pool.policy.on_hit
        for i, h in enumerate(hash_ids):
            e = entries.get(h)
            if e is None:
                break
            t = block_tokens_of(i)
            if tokens + t >= max_tokens:
                break
            if e.refs == 0:
                pool.evictable -= e.size
                self.pinned_tokens += e.tokens
            e.refs += 1
            e.hits += 1
            if h not in parked:
                on_hit(h, now_s)
            pinned.append(h)
            tokens += t
        return pinned, tokens

    def insert(self, h: int, tokens: int, now_s: float) -> bool:
        """Make ``h`` a cached entry pinned by the caller; False if already cached or no room."""
        if not self.prefix_cache or h in self.entries:
            return False
        blocks = self.blocks_for(tokens)
        pool = self.pool
        pool.missed(h, blocks, now_s)
        if blocks > self.free_blocks and not self.reserve(blocks, now_s):
            return False
        pool.store(h, Entry(tokens=tokens, size=blocks, refs=1), now_s)
        self.pinned_tokens += tokens
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
        pool = self.pool
        # NOTE: BlockPool.missed and .store inlined, for speed (this runs per prompt block)
        entries, on_miss, on_insert_policy = pool.entries, pool.on_miss, pool.policy.on_insert
        listen = self.on_insert
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
            entries[h] = Entry(tokens=t, size=blocks, refs=1)   # pinned: not evictable
            pool.used += blocks
            if pool.used > pool.peak:
                pool.peak = pool.used
            pool.inserts += 1
            on_insert_policy(h, blocks, now_s)
            self.pinned_tokens += t
            priv_tokens -= t
            held = after
            donated.append(h)
            dtok += t
            if on_insert is not None:
                on_insert(h, t, now_s)
            if listen is not None:
                listen(h, t, now_s)
        used = self.private_blocks + pool.used
        if used > self.peak_used_blocks:
            self.peak_used_blocks = used
        return donated, dtok, held

    def unpin(self, ids, now_s: float) -> None:
        pool = self.pool
        # NOTE: BlockPool.unpin inlined, for speed (this runs per pinned block)
        entries, parked = pool.entries, pool.parked
        for h in ids:
            e = entries[h]
            e.refs -= 1
            if e.refs == 0:
                pool.evictable += e.size
                self.pinned_tokens -= e.tokens
                if h in parked and e.until <= now_s:
                    parked.remove(h)
                    pool.policy.on_insert(h, e.size, now_s)

    def protect(self, ids, until_s: float) -> None:
        """Evict these entries only after every unprotected one, until ``until_s`` (a TTL)."""
        for h in ids:
            e = self.entries.get(h)
            if e is not None:
                e.until = max(e.until, until_s)

    def unprotect(self, ids, now_s: float) -> None:
        """A TTL ran out: entries still parked and unused rejoin the policy's order."""
        for h in ids:
            self.pool.unprotect(h, now_s)

    def count_lookup(self, hits: int, total: int) -> None:
        """One request's first admission: ``hits`` of its ``total`` prompt blocks were cached."""
        self.pool.record(hits, total - hits)

    def check(self) -> None:
        """Assert block counts: nothing negative, nothing over capacity, cache sums match."""
        assert 0 <= self.private_blocks, self.private_blocks
        assert self.used_blocks <= self.total_blocks, (self.used_blocks, self.total_blocks)
        assert sum(e.tokens for e in self.entries.values() if e.refs > 0) == self.pinned_tokens
        if self.policy is not None:
            self.pool.check()
            assert all(self.entries[h].refs > 0 or self.entries[h].until > 0 for h in self.parked)
        else:
            assert not self.entries
