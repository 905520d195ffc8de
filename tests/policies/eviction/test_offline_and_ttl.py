"""Offline policies (Belady, advice) need the future; TTL pins keys until a deadline."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies.eviction import TTL, Advice, Belady
from memsim.policies.replay import replay


def test_belady_without_future_is_a_clear_error():
    with pytest.raises(ConfigError, match="needs the future"):
        Belady(capacity=2).on_insert("a", 1, 0.0)


def test_advice_without_predictions_is_a_clear_error():
    with pytest.raises(ConfigError, match="predictions"):
        Advice(capacity=2).on_insert("a", 1, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_advice_with_perfect_bits_is_optimal(seed):
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.2, 3000) % 300
    assert replay(ids, "advice", 30).hits == replay(ids, "belady", 30).hits


def test_advice_errors_cost_hits_and_are_seeded():
    rng = np.random.default_rng(5)
    ids = rng.zipf(1.2, 4000) % 400
    perfect = replay(ids, "advice", 40).hits
    noisy = [replay(ids, {"name": "advice", "error_rate": 0.3, "seed": s}, 40).hits
             for s in (1, 1, 2)]
    assert noisy[0] == noisy[1]                  # same seed, same answer
    assert max(noisy) < perfect
    worst = replay(ids, {"name": "advice", "error_rate": 1.0}, 40).hits
    assert worst < min(noisy)


def test_ttl_pinned_key_survives_until_expiry():
    pol = TTL(capacity=2, ttl_s=0.0)
    pol.on_insert("a", 1, 0.0)
    pol.on_insert("b", 1, 1.0)
    pol.pin("a", until_s=10.0)           # e.g. a tool call expected back at t=10 s
    assert pol.victim(2.0) == "b"        # "a" is pinned, "b" expired at 1 s
    pol.on_remove("b")
    pol.on_insert("c", 1, 3.0)
    assert pol.victim(4.0) == "c"        # still pinned
    assert pol.victim(11.0) == "c"       # both expired: earliest deadline first (c: 3 s)
    pol.on_hit("c", 12.0)
    assert pol.victim(12.5) == "a"       # a expired at 10 s, c at 12 s
    assert pol.deadline_s("a") == 10.0
    pol.check()


def test_ttl_with_long_ttl_keeps_recent_keys():
    ids = np.array([1, 2, 3, 1, 4, 1, 5, 2], np.int64)
    r = replay(ids, {"name": "ttl", "ttl_s": 100.0}, 3, times_s=np.arange(8.0))
    assert r.hits == replay(ids, "lru", 3).hits  # one TTL for every key: LRU order
