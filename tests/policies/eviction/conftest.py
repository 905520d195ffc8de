"""Shared fixtures for the eviction tests: drive a policy by hand and record its victims."""
import json
import pathlib

import numpy as np
import pytest

from memsim.policies import registry
from memsim.policies.fast.next_access import next_access

DATA = pathlib.Path(__file__).parents[1] / "data"


def drive_policy(spec, seq, capacity, *, sizes=None, times=None):
    """Replay ``seq`` (letters or ints) through the Protocol, calling check() after every
    step; returns (victims in order, hits)."""
    pol = registry.create("eviction", spec, capacity=capacity)
    keys = list(seq)
    codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    dense = np.array([codes[k] for k in keys], np.int64)
    sz = [1] * len(keys) if sizes is None else list(sizes)
    if hasattr(pol, "prepare"):
        pol.prepare(dense, np.array(sz, np.int64), next_access(dense, len(codes)))
    victims, hits, used, stored = [], 0, 0, {}
    for i, k in enumerate(keys):
        now = float(i) if times is None else times[i]
        if hasattr(pol, "seek"):
            pol.seek(i)
        if k in pol:
            hits += 1
            pol.on_hit(k, now)
        else:
            if hasattr(pol, "on_miss"):
                pol.on_miss(k, sz[i], now)
            while used + sz[i] > capacity:
                v = pol.victim(now)
                assert v in stored
                assert pol.victim(now) == v, "victim() must not change anything"
                victims.append(v)
                used -= stored.pop(v)
                pol.on_remove(v)
                pol.check()
            pol.on_insert(k, sz[i], now)
            stored[k] = sz[i]
            used += sz[i]
        pol.check()
        assert len(pol) == len(stored) and all(s in pol for s in stored)
    return victims, hits


@pytest.fixture
def drive():
    return drive_policy


@pytest.fixture(scope="session")
def tiny_trace():
    return np.loadtxt(DATA / "tiny_trace.txt", dtype=np.int64)


@pytest.fixture(scope="session")
def goldens():
    return json.loads((DATA / "goldens.json").read_text())
