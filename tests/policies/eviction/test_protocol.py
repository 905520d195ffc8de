"""Every built-in eviction policy against the Protocol's contract.

victim() changes nothing, pinned keys (can_evict False) are passed over and left
as they are, None when nothing can be evicted, check() holds after every step.
"""
import numpy as np
import pytest

from memsim.policies import registry
from memsim.policies.eviction import Eviction
from memsim.policies.fast.next_access import next_access
from memsim.policies.replay import replay_python

BUILTINS = ["lru", "fifo", "clock", "lfu", "arc", "2q", "slru", "s3fifo", "sieve", "ttl",
            "belady", "advice"]


def _seq(seed, n=400, universe=40):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, universe + 1) ** 0.8
    return rng.choice(universe, n, p=p / p.sum()).astype(np.int64)


class Noisy:
    """Wraps a policy: every victim() call is preceded by extra victim() calls with random
    pins, which must not change the decisions."""

    def __init__(self, inner, rng):
        self.inner, self.rng, self.name = inner, rng, inner.name

    def __getattr__(self, a):
        return getattr(self.inner, a)

    def __contains__(self, k):
        return k in self.inner

    def __len__(self):
        return len(self.inner)

    def victim(self, now_s, can_evict=None):
        refused = set(self.rng.choice(60, 5).tolist())
        pinned = self.inner.victim(now_s, can_evict=lambda k: k not in refused)
        assert pinned is None or pinned not in refused
        self.inner.victim(now_s)
        return self.inner.victim(now_s)


@pytest.mark.parametrize("name", BUILTINS)
def test_victim_changes_nothing(name):
    ids = _seq(1)
    na = next_access(ids, 40)
    sizes = np.ones(len(ids), np.int64)
    plain = registry.create("eviction", name, capacity=8)
    noisy = Noisy(registry.create("eviction", name, capacity=8), np.random.default_rng(2))
    h1, h2 = np.zeros(len(ids), np.uint8), np.zeros(len(ids), np.uint8)
    replay_python(plain, ids, sizes, 8, h1, next_access=na, check_every=1)
    replay_python(noisy, ids, sizes, 8, h2, next_access=na, check_every=1)
    assert (h1 == h2).all()
    assert isinstance(plain, Eviction)


@pytest.mark.parametrize("name", BUILTINS)
def test_pinned_keys_are_passed_over_and_kept(name):
    ids = _seq(3, n=120)
    pol = registry.create("eviction", name, capacity=6)
    hit = np.zeros(len(ids), np.uint8)
    replay_python(pol, ids, np.ones(len(ids), np.int64), 6, hit,
                  next_access=next_access(ids, 40), check_every=1)
    first = pol.victim(1e9)
    assert first is not None and first in pol
    second = pol.victim(1e9, can_evict=lambda k: k != first)
    assert second is not None and second != first and second in pol
    assert pol.victim(1e9, can_evict=lambda k: False) is None
    pol.on_remove(second)
    pol.check()
    assert first in pol and second not in pol and len(pol) == 5


@pytest.mark.parametrize("name", BUILTINS)
def test_empty_policy_has_no_victim(name):
    pol = registry.create("eviction", name, capacity=4)
    assert len(pol) == 0 and pol.victim(0.0) is None
    pol.check()


@pytest.mark.parametrize("name", BUILTINS)
def test_engine_removal_without_victim(name):
    """The engine may drop any key on its own; the policy forgets it and stays consistent."""
    pol = registry.create("eviction", name, capacity=4)
    if hasattr(pol, "prepare"):
        ids = np.array([0, 1, 2], np.int64)
        pol.prepare(ids, np.ones(3, np.int64), next_access(ids, 3))
    for i, k in enumerate("abc"):
        if hasattr(pol, "seek"):
            pol.seek(i)
        pol.on_insert(k, 1, float(i))
    pol.on_remove("b")
    pol.check()
    assert "b" not in pol and len(pol) == 2
    assert pol.victim(5.0) in ("a", "c")


def test_docstrings_have_models_parameters_differs():
    for name in BUILTINS:
        doc = registry.get("eviction", name).__doc__
        for part in ("Models:", "Parameters:", "Differs from the paper:"):
            assert part in doc, (name, part)
