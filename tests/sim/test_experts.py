"""The expert cache: replay and the prefetching driver agree, hand-worked timing, the curves' laws."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.hwmodels import load_platform
from memsim.sim.experts import expert_link, expert_slots, needed_experts, simulate_expert_cache
from memsim.workloads.experts import synthetic_routing

ONLINE = ["lru", "fifo", "lfu", "clock", "arc", "2q", "slru", "s3fifo", "sieve"]


@pytest.fixture(scope="module")
def routing():
    return synthetic_routing(tokens=300, layers=8, experts=8, active=2, skew=0.9, correlation=0.5,
                             rng=np.random.default_rng(5))


def run(routing, **kw):
    args = dict(slots=3, expert_bytes=100, link_bytes_per_s=1e4, link_latency_s=1e-3,
                layer_compute_s=2e-3, eviction="lru")
    args.update(kw)
    return simulate_expert_cache(routing, **args)


@pytest.mark.parametrize("eviction", ONLINE)
@pytest.mark.parametrize("batch", [1, 3])
def test_prefetch_free_driver_equals_replay(routing, eviction, batch):
    for slots in (1, 3, 5):
        a = run(routing, eviction=eviction, slots=slots, batch=batch, driver="replay")
        b = run(routing, eviction=eviction, slots=slots, batch=batch, driver="python")
        assert (a.hits, a.demand_fetches) == (b.hits, b.demand_fetches)
        assert np.allclose(a.iteration_s, b.iteration_s, rtol=1e-12)
        assert np.allclose(a.stall_s, b.stall_s, rtol=1e-12, atol=1e-15)


def test_hand_worked_timing_none_and_lookahead():
    # 2 layers, 1 slot each; token 0 uses experts 0 | 1, token 1 uses 2 | 3, token 2 uses 0 | 1
    r = np.array([[[0], [1]], [[2], [3]], [[0], [1]]], dtype=np.int16)
    kw = dict(slots=1, expert_bytes=1, link_bytes_per_s=1.0, link_latency_s=0.0, layer_compute_s=0.5)
    none = simulate_expert_cache(r, prefetch="none", **kw)
    assert none.iteration_s.tolist() == [3.0, 3.0, 3.0] and none.stall_s.tolist() == [2.0, 2.0, 2.0]
    assert (none.hits, none.demand_fetches) == (0, 6)
    # lookahead: layer 1's expert starts at t = 1 behind layer 0's miss, arrives at 2, while
    # layer 0 computes until 1.5: layer 1 waits 0.5 instead of 1
    look = simulate_expert_cache(r, prefetch="lookahead", **kw)
    assert look.iteration_s.tolist() == [2.5, 2.5, 2.5] and look.stall_s.tolist() == [1.5, 1.5, 1.5]
    assert (look.hits, look.prefetch_hits, look.demand_fetches, look.prefetch_fetches) == (3, 3, 3, 3)
    assert look.wasted_prefetches == 0
    assert look.stall_s_per_token < none.stall_s_per_token


def test_lru_hit_ratio_is_monotone_in_cache_size_and_belady_is_best(routing):
    prev = -1.0
    for slots in range(0, 9):
        rows = {ev: run(routing, eviction=ev, slots=slots).hit_ratio for ev in ONLINE + ["belady"]}
        assert rows["lru"] >= prev
        prev = rows["lru"]
        assert all(rows["belady"] >= v - 1e-12 for v in rows.values()), (slots, rows)
    assert prev == pytest.approx(1 - needed_experts(routing, 1).any(axis=0).sum() / (300 * 8 * 2))


def test_every_expert_cached_leaves_only_first_touches(routing):
    r = run(routing, slots=8)
    first = int(needed_experts(routing, 1).any(axis=0).sum())
    assert r.demand_fetches == first and r.accesses == routing.size


def test_the_expert_count_can_exceed_the_ids_seen(routing):
    r = run(routing, prefetch="hottest", experts=12)
    assert r.accesses == routing.size
    with pytest.raises(ConfigError, match="routing names expert 7; the model has 4"):
        run(routing, experts=4)


def test_no_cache_fetches_every_access(routing):
    r = run(routing, slots=0, prefetch="lookahead")
    fetch = 1e-3 + 100 / 1e4
    assert r.hits == 0 and r.demand_fetches == r.accesses and r.prefetch_fetches == 0
    assert r.stall_s == pytest.approx(np.full(300, 16 * fetch))


@pytest.mark.parametrize("prefetch", ["none", "lookahead", "hottest", "affinity",
                                      {"name": "lookahead", "depth": 3}])
def test_accounting_is_conserved(routing, prefetch):
    r = run(routing, prefetch=prefetch, slots=4, batch=2)
    assert r.accesses == r.hits + r.demand_fetches
    assert r.fetched_bytes == (r.demand_fetches + r.prefetch_fetches) * 100
    assert r.prefetch_hits + r.wasted_prefetches <= r.prefetch_fetches
    assert (r.stall_s >= 0).all() and r.iteration_s == pytest.approx(8 * 2e-3 + r.stall_s)
    again = run(routing, prefetch=prefetch, slots=4, batch=2)
    assert again.row() == r.row()


def test_lookahead_lowers_stall_on_a_link_bound_mixtral_like_setup():
    r = synthetic_routing(tokens=200, layers=32, experts=8, active=2, skew=0.8, correlation=0.5,
                          rng=np.random.default_rng(0))
    kw = dict(expert_bytes=352 * 2**20, link_bytes_per_s=31.5e9, link_latency_s=1e-6,
              layer_compute_s=1.1e-3)
    for slots in (2, 4, 6):
        none = simulate_expert_cache(r, slots=slots, **kw)
        look = simulate_expert_cache(r, slots=slots, prefetch="lookahead", **kw)
        assert look.stall_s_per_token < none.stall_s_per_token
        assert look.wasted_prefetches == 0


def test_offline_eviction_runs_only_without_prefetch(routing):
    assert run(routing, eviction="belady").hits > 0
    with pytest.raises(ConfigError, match="needs the future"):
        run(routing, eviction="belady", prefetch="hottest")
    with pytest.raises(ConfigError, match="without prefetch"):
        run(routing, prefetch="hottest", driver="replay")


def test_slots_from_a_count_or_bytes():
    assert expert_slots(3, layers=4, experts=8, expert_bytes=10).tolist() == [3, 3, 3, 3]
    assert expert_slots(("bytes", 105), layers=4, experts=8, expert_bytes=10).tolist() == [3, 3, 2, 2]
    with pytest.raises(ConfigError, match="capacity 9 exceeds the 8 experts of a layer"):
        expert_slots(9, layers=4, experts=8, expert_bytes=10)
    with pytest.raises(ConfigError, match="330 B holds 33 experts; the model has only 32"):
        expert_slots(("bytes", 330), layers=4, experts=8, expert_bytes=10)


def test_expert_link_from_the_platform():
    hw = load_platform("l40s")
    assert expert_link(hw, "dram") == (pytest.approx(31.5e9), pytest.approx(1e-6))
    assert expert_link(hw, "dram", bandwidth_bytes_per_s=63e9)[0] == 63e9
    bw, _ = expert_link(hw, "ssd")               # a drive's sequential read bounds it
    assert bw == pytest.approx(6.4e9)
    with pytest.raises(ConfigError, match="below HBM"):
        expert_link(hw, "hbm")
