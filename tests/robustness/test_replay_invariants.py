"""Replay invariants on random access sequences: LRU inclusion, Belady optimality, fast == python.

Sequences are unit-size ids drawn by hypothesis (uniform, Zipf-like and looping
shapes).  LRU is a stack algorithm, so its hits never drop as capacity grows;
Belady (MIN) is optimal for unit sizes, so no policy beats it at any capacity;
the one-pass LRU curve (stack distances) equals replaying each capacity; and the
Numba kernels agree with the Python Protocol path access by access.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.policies.mrc import lru_curve
from memsim.policies.replay import prepare_sequence, replay

POLICIES = ["lru", "fifo", "clock", "sieve", "s3fifo", "arc", "2q", "slru", "lfu"]


@st.composite
def sequences(draw):
    n = draw(st.integers(1, 400))
    universe = draw(st.integers(1, 60))
    shape = draw(st.sampled_from(["uniform", "zipf", "loop", "raw"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if shape == "uniform":
        ids = rng.integers(0, universe, n)
    elif shape == "zipf":
        w = 1.0 / np.arange(1, universe + 1) ** draw(st.floats(0.5, 1.5))
        ids = rng.choice(universe, size=n, p=w / w.sum())
    elif shape == "loop":
        ids = np.arange(n) % universe
    else:
        ids = np.array(draw(st.lists(st.integers(-5, 2**40), min_size=1, max_size=200)))
    return np.asarray(ids, np.int64)


@settings(max_examples=200, deadline=None)
@given(ids=sequences(), caps=st.lists(st.integers(1, 80), min_size=2, max_size=6, unique=True))
def test_lru_hits_never_drop_with_capacity(ids, caps):
    caps = sorted(caps)
    prepared = prepare_sequence(ids)
    hits = [replay(None, "lru", c, prepared=prepared).hits for c in caps]
    assert hits == sorted(hits), dict(zip(caps, hits))
    # the one-pass curve agrees with replaying every capacity
    curve = lru_curve(ids, caps)
    assert [r["hits"] for r in curve] == hits


@settings(max_examples=150, deadline=None)
@given(ids=sequences(), cap=st.integers(1, 40))
def test_belady_is_at_least_as_good_as_every_policy(ids, cap):
    prepared = prepare_sequence(ids)
    best = replay(None, "belady", cap, prepared=prepared).hits
    for pol in POLICIES:
        h = replay(None, pol, cap, prepared=prepared).hits
        assert h <= best, f"{pol} {h} hits > belady {best} at capacity {cap}"
    # a cache as large as the working set misses only first accesses, for every policy
    n_unique = len(np.unique(ids))
    cold = len(ids) - n_unique
    for pol in POLICIES + ["belady"]:
        assert replay(None, pol, max(n_unique, 1), prepared=prepared).hits == cold, pol


@settings(max_examples=100, deadline=None)
@given(ids=sequences(), cap=st.integers(1, 30), pol=st.sampled_from(POLICIES + ["belady"]))
def test_fast_kernel_equals_python_path(ids, cap, pol):
    prepared = prepare_sequence(ids)
    fast = replay(None, pol, cap, prepared=prepared, keep_hits=True)
    slow = replay(None, pol, cap, prepared=prepared, keep_hits=True, engine="python")
    assert fast.hits == slow.hits, (pol, fast.engine, slow.engine)
    np.testing.assert_array_equal(fast.hit, slow.hit)
