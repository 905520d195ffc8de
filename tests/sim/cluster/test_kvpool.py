"""The shared KV pool: one store, per-replica paths over the NICs, one write per block cluster-wide."""
from __future__ import annotations

import simpy

from memsim.sim.cluster.kvpool import SharedKVPool
from memsim.sim.cluster.network import ClusterNetwork
from memsim.sim.cluster.placement import Placement, Ports
from memsim.sim.link import Network
from memsim.sim.tierstore import TierStore

GB = 1e9
KV_TOKEN = 131072   # Llama-3.1-8B bf16: 128 KiB of KV per token


def make(capacity_chunks=None):
    env = simpy.Environment()
    ps = [Placement(replica=i, pool="a", role="mixed", platform="h100_sxm", node=i, gpus=(0,)) for i in range(3)]
    cn = ClusterNetwork(Network(env), ps, [Ports(50 * GB, 0.0, None, 0.0)] * 3, pool=(400 * GB, 400 * GB, 0.0))
    cap = None if capacity_chunks is None else capacity_chunks * 512 * KV_TOKEN
    store = TierStore(name="remote", kind="remote", capacity_bytes=cap, chunk_tokens=512,
                      kv_bytes_per_token=KV_TOKEN, eviction="lru")
    return env, cn, SharedKVPool(store, cn)


def test_a_block_one_replica_stored_is_loaded_by_another_over_its_own_nic():
    env, cn, pool = make()
    assert pool.claim(7)
    assert not pool.claim(7) and pool.duplicate_writes_avoided == 1   # replica 1 evicts it too: no 2nd write
    nbytes = pool.store.bytes_for(512)
    ev = cn.send(nbytes, pool.write_path(0), tag="pool_write")
    ev.callbacks.append(lambda _e: pool.landed(0, 7, 512, env.now))
    env.run()
    assert 7 in pool.store.entries and not pool.writing(7) and not pool.claim(7)
    assert env.now == nbytes / (50 * GB)            # the writer's NIC is the narrowest channel
    got = pool.read(1, 7, 512, env.now)
    cn.send(got, pool.read_path(1), tag="pool_read").callbacks.append(lambda _e: pool.done_reading(7, env.now))
    env.run()
    assert pool.hit_blocks == [0, 1, 0] and pool.read_bytes == [0, nbytes, 0] and pool.written_bytes == [nbytes, 0, 0]
    by = {(c.name, c.direction): c.bytes_total for c in cn.channels}
    assert by[("nic", "r0->fabric")] == nbytes and by[("nic", "fabric->r1")] == nbytes
    assert by[("kv_pool", "write")] == nbytes and by[("kv_pool", "read")] == nbytes
    assert by[("nic", "fabric->r0")] == 0 and by[("nic", "r1->fabric")] == 0
    pool.check()


def test_capacity_and_eviction_are_the_pools_not_a_replicas():
    env, cn, pool = make(capacity_chunks=2)
    for r, h in ((0, 1), (1, 2), (2, 3)):          # three replicas, a pool of two chunks: LRU drops block 1
        assert pool.claim(h)
        evicted = pool.landed(r, h, 512, float(h))
    assert [k for k, _ in evicted] == [1]
    assert set(pool.store.entries) == {2, 3} and pool.store.used_chunks == 2
    pool.check()
