"""The HBM KV manager: parking pinned entries, TTL protection, donation accounting."""
from __future__ import annotations

from memsim.sim.kvcache import KVManager


def manager(total=10):
    return KVManager(total_blocks=total, block_tokens=16, block_bytes=16 * 1024, eviction="lru")


def fill(kv, keys, now=0.0):
    for h in keys:
        assert kv.insert(h, 16, now)
    kv.unpin(keys, now)


def test_lru_order_and_pinned_entries_are_parked_not_evicted():
    kv = manager(4)
    assert kv.insert(1, 16, 0.0)     # 1 stays pinned by the request that made it
    fill(kv, [2, 3, 4])
    assert kv.take(2, 2.0)           # needs two blocks: LRU order is 1 (pinned), 2, 3
    assert 1 in kv.entries and 2 not in kv.entries and 3 not in kv.entries
    assert 1 in kv.parked
    kv.unpin([1], 3.0)               # released: back in the policy as a fresh insert
    assert 1 not in kv.parked
    kv.check()


def test_ttl_protected_entries_go_last_and_rejoin_on_expiry():
    kv = manager(4)
    fill(kv, [1, 2, 3, 4])
    kv.protect([1, 2], until_s=10.0)
    assert kv.take(2, 1.0)           # evicts the unprotected 3 and 4 although 1, 2 are older
    assert set(kv.entries) == {1, 2}
    assert kv.take(1, 2.0)           # nothing unprotected left: the soonest-expiring protected goes
    assert len(kv.entries) == 1
    kv.unprotect(list(kv.entries), 11.0)
    assert not kv.parked
    kv.check()


def test_protection_never_blocks_allocation():
    kv = manager(3)
    fill(kv, [1, 2, 3])
    kv.protect([1, 2, 3], until_s=100.0)
    assert kv.available_blocks() == 3
    assert kv.take(3, 1.0) and not kv.entries
    kv.check()


def test_donation_keeps_block_counts():
    kv = manager(100)
    assert kv.take(63, 0.0)          # a 1000-token prompt in 16-token blocks
    ids, tokens, held = kv.donate([7, 8], 0, lambda i: [512, 488][i], 1000, 63, 1.0)
    assert ids == [7, 8] and tokens == 1000 and held == 0
    assert kv.private_blocks == 0 and kv.cached_blocks == 32 + 31
    kv.check()
