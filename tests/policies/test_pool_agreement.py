"""The four ways of running an eviction policy make the same decisions.

For every built-in eviction policy, one random access sequence (keys, a size per
access, a capacity) drives (a) the engine's HBM KV manager, (b) a lower-tier
store, (c) the Python replay and (d) the policy's Numba kernel.  (a)-(c) must
hit on the same accesses and evict the same keys at the same accesses in the
same order; (d) reports only its hit vector, which must match.  Sizes are in
blocks for (a) (one token per block) and chunks for (b) (one token per chunk,
one byte per token), so all four see the same numbers.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.policies import registry
from memsim.policies.fast import kernel_for
from memsim.policies.fast.next_access import next_access
from memsim.policies.replay import prepare_sequence, replay, replay_python
from memsim.sim.kvcache import KVManager
from memsim.sim.tierstore import TierStore

#: parameters that make a policy's own knobs matter (defaults otherwise)
PARAMS = {"ttl": {"ttl_s": 3.0}, "advice": {"error_rate": 0.25, "seed": 3}}
BUILTINS = [n for n in registry.names("eviction")
            if registry.get("eviction", n).__module__.startswith("memsim.policies.eviction.")]
SETTINGS = dict(max_examples=30, deadline=None, derandomize=True)


def _spec(name):
    return {"name": name, **PARAMS.get(name, {})}


def _has_kernel(name) -> bool:
    return kernel_for(registry.create("eviction", _spec(name), capacity=1)) is not None


@st.composite
def sequences(draw):
    n_keys = draw(st.integers(1, 12))
    n = draw(st.integers(1, 80))
    keys = draw(st.lists(st.integers(0, n_keys - 1), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    capacity = draw(st.integers(1, 10))
    dense, n_ids, sz = prepare_sequence(np.array(keys, np.int64), np.array(sizes, np.int64))
    return dense, n_ids, sz, capacity


def _offline(policy, dense, sz, n_ids):
    """Belady and advice read the future, which the replay hands over; do the same by hand."""
    if hasattr(policy, "prepare"):
        policy.prepare(dense, sz, next_access(dense, n_ids))
    return getattr(policy, "seek", None)


def drive_hbm(name, dense, sz, n_ids, capacity):
    kv = KVManager(total_blocks=capacity, block_tokens=1, block_bytes=1, eviction=_spec(name))
    seek = _offline(kv.policy, dense, sz, n_ids)
    hits, evicted, i = [], [], 0
    kv.on_evict = lambda key, tokens, n_hits, now_s: evicted.append((i, key))
    for i, (key, size) in enumerate(zip(dense.tolist(), sz.tolist())):
        if seek is not None:
            seek(i)
        now = float(i)
        if key in kv.entries:
            pinned, _ = kv.lookup([key], lambda _j: size, now, max_tokens=1 << 40)
            assert pinned == [key]
            kv.unpin(pinned, now)
            hits.append(i)
        elif kv.insert(key, size, now):
            kv.unpin([key], now)
        kv.check()
    return hits, evicted, set(kv.entries), kv.pool


def drive_tier(name, dense, sz, n_ids, capacity):
    store = TierStore(name="dram", kind="dram", capacity_bytes=capacity, chunk_tokens=1,
                      kv_bytes_per_token=1, eviction=_spec(name))
    seek = _offline(store.policy, dense, sz, n_ids)
    hits, evicted = [], []
    for i, (key, size) in enumerate(zip(dense.tolist(), sz.tolist())):
        if seek is not None:
            seek(i)
        if key in store:
            store.touch(key, float(i))
            hits.append(i)
        else:
            out = store.insert(key, size, float(i))
            evicted.extend((i, k) for k, _ in out or ())
        store.check()
    return hits, evicted, set(store.entries), store.pool


def drive_replay(name, dense, sz, n_ids, capacity):
    pol = registry.create("eviction", _spec(name), capacity=capacity)
    hit = np.zeros(len(dense), np.uint8)
    evicted: list = []
    n_hits = replay_python(pol, dense, sz, capacity, hit, next_access=next_access(dense, n_ids),
                           check_every=1, evicted=evicted)
    assert n_hits == int(hit.sum())
    return np.flatnonzero(hit).tolist(), evicted, {k for k in range(n_ids) if k in pol}


@pytest.mark.parametrize("name", BUILTINS)
@settings(**SETTINGS)
@given(seq=sequences())
def test_hbm_tier_and_replay_agree(name, seq):
    dense, n_ids, sz, capacity = seq
    h_a, e_a, left_a, pool_a = drive_hbm(name, dense, sz, n_ids, capacity)
    h_b, e_b, left_b, pool_b = drive_tier(name, dense, sz, n_ids, capacity)
    h_c, e_c, left_c = drive_replay(name, dense, sz, n_ids, capacity)
    assert h_a == h_b == h_c, "hit sequences differ (hbm, tier, replay)"
    assert e_a == e_b == e_c, "eviction sequences differ (hbm, tier, replay)"
    assert left_a == left_b == left_c
    # the counters mean the same in both engine pools
    for pool in (pool_a, pool_b):
        assert pool.evictions == len(e_a)
        assert pool.inserts == len(left_a) + len(e_a)
        assert pool.used <= capacity


@pytest.mark.parametrize("name", [n if _has_kernel(n) else
                                  pytest.param(n, marks=pytest.mark.skip(reason=f"{n} has no fast kernel"))
                                  for n in BUILTINS])
@settings(**SETTINGS)
@given(seq=sequences())
def test_kernel_agrees_with_the_engine_pools(name, seq):
    dense, n_ids, sz, capacity = seq
    h_a, _, _, _ = drive_hbm(name, dense, sz, n_ids, capacity)
    fast = replay(None, _spec(name), capacity, engine="fast", keep_hits=True, prepared=(dense, n_ids, sz))
    assert fast.engine == "fast"
    assert np.flatnonzero(fast.hit).tolist() == h_a
