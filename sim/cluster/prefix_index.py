"""Which replicas hold which prefix blocks: one map for the whole cluster, read by routers.

Each replica's KV manager reports the blocks it caches and evicts (llm-d and Dynamo
do the same with KV events); the index keeps, per block hash, a bitmask of the
replicas holding it.  The longest cached prefix of a request on every replica then
costs one walk over its hash ids plus one step per replica, O(blocks + replicas),
instead of one walk per replica.
"""
from __future__ import annotations

__all__ = ["PrefixIndex"]


class PrefixIndex:
    """Block hash -> set of replicas (as a bitmask) whose HBM caches that block."""

    def __init__(self, replicas: int):
        if replicas < 1:
            raise ValueError(f"replicas={replicas} must be >= 1")
        self.replicas = int(replicas)
        self._holders: dict[int, int] = {}
        self._count = [0] * self.replicas      # blocks per replica, for check()
        self._memo_key = None     # the hash-id tuple of the last answer (None: stale)
        self._memo: list[int] = []

    def __len__(self) -> int:
        """Distinct blocks cached somewhere."""
        return len(self._holders)

    # ---- updates (from each replica's KV manager) ------------------------------------------
    def add(self, replica: int, h: int) -> None:
        bit = 1 << replica
        m = self._holders.get(h, 0)
        if not m & bit:
            self._holders[h] = m | bit
            self._count[replica] += 1
            self._memo_key = None

    def remove(self, replica: int, h: int) -> None:
        bit = 1 << replica
        m = self._holders.get(h, 0)
        if m & bit:
            m &= ~bit
            if m:
                self._holders[h] = m
            else:
                del self._holders[h]
            self._count[replica] -= 1
            self._memo_key = None

    # ---- queries ---------------------------------------------------------------------------
    def holders(self, h: int) -> list[int]:
        """Replicas caching block ``h``, in index order."""
        m = self._holders.get(h, 0)
        return [r for r in range(self.replicas) if m >> r & 1]

    def matched_blocks(self, hash_ids) -> list[int]:
        """Per replica, how many leading blocks of ``hash_ids`` it caches (one pass, O(blocks + replicas)).

        The last answer is kept until the index changes, so the views of one routing
        decision share a single walk.
        """
        if hash_ids is not None and hash_ids is self._memo_key:
            return self._memo
        n = self.replicas
        out = [0] * n
        alive = (1 << n) - 1
        holders = self._holders
        i = 0
        for i, h in enumerate(hash_ids or ()):
            m = holders.get(h, 0)
            dropped = alive & ~m
            if dropped:
                alive &= m
                while dropped:            # each replica drops out once: O(replicas) in total
                    low = dropped & -dropped
                    out[low.bit_length() - 1] = i
                    dropped ^= low
                if not alive:
                    break
        else:
            full = len(hash_ids) if hash_ids else 0
            while alive:
                low = alive & -alive
                out[low.bit_length() - 1] = full
                alive ^= low
        self._memo_key, self._memo = hash_ids, out
        return out

    def check(self, truth: list[set] | None = None) -> None:
        """Assert the per-replica counts match the bitmasks (and ``truth[r]``, each replica's blocks)."""
        counts = [0] * self.replicas
        for m in self._holders.values():
            assert m, "an entry with no holder"
            for r in range(self.replicas):
                counts[r] += m >> r & 1
        assert counts == self._count, (counts, self._count)
        if truth is not None:
            for r, blocks in enumerate(truth):
                assert {h for h, m in self._holders.items() if m >> r & 1} == set(blocks), r
