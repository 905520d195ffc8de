"""The Numba kernels decide exactly as the Python policies, and as their pure-Python twins."""
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.policies import registry
from memsim.policies.fast import KERNELS, kernel_for
from memsim.policies.fast.next_access import next_access, next_access_kernel, next_access_ref
from memsim.policies.fast.stack_distance import stack_distances_kernel, stack_distances_ref
from memsim.policies.replay import prepare_sequence, replay

NAMES = sorted(KERNELS)


def _zipf(seed, n, universe, alpha=0.9):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, universe + 1) ** alpha
    return rng.choice(universe, n, p=p / p.sum()).astype(np.int64)


def _both(ids, name, cap, sizes=None):
    prep = prepare_sequence(ids, sizes)
    fast = replay(None, name, cap, engine="fast", keep_hits=True, prepared=prep)
    slow = replay(None, name, cap, engine="python", keep_hits=True, prepared=prep)
    assert fast.engine == "fast" and slow.engine == "python"
    return fast, slow


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("cap", [3, 40, 400])
def test_fast_equals_python_per_access(name, cap):
    ids = _zipf(11, 6000, 1500)
    fast, slow = _both(ids, name, cap)
    assert np.array_equal(fast.hit, slow.hit)
    assert 0 < fast.hits < len(ids)


@pytest.mark.parametrize("name", NAMES)
def test_fast_equals_python_with_sizes(name):
    ids = _zipf(12, 4000, 600)
    rng = np.random.default_rng(13)
    size_of = rng.integers(1, 9, 600)
    sizes = size_of[ids]
    fast, slow = _both(ids, name, 300, sizes)
    assert np.array_equal(fast.hit, slow.hit)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_equals_its_pure_python_twin(name):
    ids = _zipf(14, 500, 80)
    dense, n_ids, sizes = prepare_sequence(ids)
    mod = importlib.import_module(f"memsim.policies.fast.{KERNELS[name]}")
    pol = registry.create("eviction", name, capacity=16)
    h1, h2 = np.zeros(len(ids), np.uint8), np.zeros(len(ids), np.uint8)
    na = next_access(dense, n_ids)
    assert mod.run(pol, dense, sizes, n_ids, h1, na) == mod.run(pol, dense, sizes, n_ids, h2, na,
                                                                ref=True)
    assert np.array_equal(h1, h2)


def test_helper_kernels_equal_their_twins():
    ids = _zipf(15, 400, 50)
    assert np.array_equal(next_access_kernel(ids, 50), next_access_ref(ids, 50))
    assert np.array_equal(stack_distances_kernel(ids, 50), stack_distances_ref(ids, 50))


def test_next_access_by_hand():
    na = next_access(np.array([5, 1, 5, 5, 1], np.int64), 6)
    assert na.tolist() == [2, 4, 3, 5 + 3, 5 + 4]


def test_user_classes_have_no_kernel():
    class Mine(registry.get("eviction", "lru")):
        name = "mine"
    assert kernel_for(Mine(capacity=3)) is None
    assert kernel_for(registry.create("eviction", "lru", capacity=3)) is not None


@settings(max_examples=40, deadline=None)
@given(seq=st.lists(st.integers(0, 12), min_size=1, max_size=80),
       cap=st.integers(1, 10), name=st.sampled_from(NAMES),
       sized=st.booleans())
def test_fast_and_python_agree_on_random_sequences(seq, cap, name, sized):
    ids = np.array(seq, np.int64)
    sizes = (ids % 3 + 1) if sized else None
    fast, slow = _both(ids, name, cap, sizes)
    assert np.array_equal(fast.hit, slow.hit)


@pytest.mark.parametrize("ttl_s", [0.0, 2.5, 40.0])
def test_ttl_kernel_with_times_equals_python(ttl_s):
    ids = _zipf(16, 5000, 700)
    times = np.cumsum(np.random.default_rng(17).exponential(1.0, len(ids)))
    times[100:110] = times[100]                       # equal times: ties broken by sequence
    prep = prepare_sequence(ids)
    spec = {"name": "ttl", "ttl_s": ttl_s}
    fast = replay(None, spec, 60, times_s=times, keep_hits=True, prepared=prep)
    slow = replay(None, spec, 60, times_s=times, keep_hits=True, engine="python", prepared=prep)
    assert fast.engine == "fast" and np.array_equal(fast.hit, slow.hit)
