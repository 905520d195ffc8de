"""Routers: hand-worked sequences, registry behaviour, and properties over random views."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.ground.errors import ConfigError
from memsim.policies import create, names
from memsim.policies.router import (
    LeastKV,
    LeastRequests,
    PrefixAware,
    Random,
    ReplicaSnapshot,
    ReplicaView,
    RoundRobin,
    Router,
    SessionAffinity,
)
from memsim.workloads.request import Request


def req(rid=0, blocks=(), hb=512, tokens=None, session=-1):
    tokens = tokens if tokens is not None else max(1, len(blocks)) * hb
    return Request(request_id=rid, arrival_s=0.0, input_tokens=tokens, output_tokens=10,
                   hash_ids=tuple(blocks) or None, hash_block_tokens=hb if blocks else 0, session_id=session)


def views(*outstanding, **kw):
    return [ReplicaSnapshot(index=i, running=o, **kw) for i, o in enumerate(outstanding)]


def test_builtins_are_registered_and_implement_the_protocol():
    assert names("router") == ["least_kv", "least_requests", "prefix_aware", "random", "round_robin",
                               "session_affinity"]
    for n in names("router"):
        assert isinstance(create("router", n), Router)
    assert isinstance(ReplicaSnapshot(index=0), ReplicaView)


def test_unknown_router_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'round_robin'"):
        create("router", "round_robbin")


def test_round_robin_turns():
    r, vs = RoundRobin(), views(0, 0, 0)
    assert [r.route(req(), vs, 0.0) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_random_is_seeded_and_uses_the_given_generator():
    import numpy as np
    vs = views(0, 0, 0, 0)
    a = [Random(seed=5).route(req(), vs, 0.0) for _ in range(1)]
    r1, r2 = Random(seed=5), Random(seed=5)
    s1 = [r1.route(req(), vs, 0.0) for _ in range(50)]
    assert s1 == [r2.route(req(), vs, 0.0) for _ in range(50)]
    assert set(s1) == {0, 1, 2, 3} and a[0] == s1[0]
    g = Random(rng=np.random.default_rng(5))
    assert [g.route(req(), vs, 0.0) for _ in range(50)] == s1
    with pytest.raises(ConfigError):
        create("router", {"name": "random", "rng": 3})


def test_least_requests_rotates_ties():
    r = LeastRequests()
    vs = views(3, 1, 1)
    # 1 is the first minimum; the next tie-break starts after it (2); then from 0 again: 1
    assert [r.route(req(), vs, 0.0) for _ in range(3)] == [1, 2, 1]


def test_least_kv_compares_fractions_across_pool_sizes():
    vs = [ReplicaSnapshot(index=0, kv_blocks_total=100, kv_blocks_used=40),     # 40 %
          ReplicaSnapshot(index=1, kv_blocks_total=1000, kv_blocks_used=300),   # 30 %, more blocks used
          ReplicaSnapshot(index=2, kv_blocks_total=10, kv_blocks_used=5)]       # 50 %
    assert LeastKV().route(req(), vs, 0.0) == 1


def test_session_affinity_sticks_and_forgets():
    r = SessionAffinity(max_sessions=2)
    assert r.route(req(session=7), views(2, 0, 1), 0.0) == 1       # new session: least loaded
    assert r.route(req(session=7), views(0, 9, 0), 1.0) == 1       # later turns stay, load or not
    assert r.route(req(), views(0, 9, 0), 1.0) == 2                # no session: least loaded, ties rotate
    assert r.route(req(session=8), views(5, 5, 0), 2.0) == 2
    assert r.route(req(session=9), views(0, 5, 5), 3.0) == 0       # third session: 7 is forgotten
    assert len(r) == 2
    assert r.route(req(session=7), views(5, 5, 0), 4.0) == 2
    with pytest.raises(ConfigError):
        create("router", {"name": "session_affinity", "max_sessions": 0})


def test_prefix_aware_hand_worked_scores():
    """4 blocks of 512 tokens; A holds the first 2 (half the prompt), B nothing; queues equal.

    A: 3 * 0.5 + 2 * 1 + 2 * (1 - 0.5) = 4.5;  B: 0 + 2 + 2 * 1 = 4.0  -> A.
    With A's KV 90 % used: A = 1.5 + 2 + 0.2 = 3.7 < 4.0 -> B.
    """
    r = req(blocks=(11, 12, 13, 14))
    a = ReplicaSnapshot(index=0, kv_blocks_total=100, kv_blocks_used=50, cached={11, 12, 99})
    b = ReplicaSnapshot(index=1, kv_blocks_total=100, kv_blocks_used=0)
    pa = PrefixAware()
    assert [s for s, _ in pa.scores(r, [a, b])] == pytest.approx([4.5, 4.0])
    assert pa.route(r, [a, b], 0.0) == 0
    a.kv_blocks_used = 90
    assert pa.route(r, [a, b], 0.0) == 1


def test_prefix_aware_queue_term_is_min_max_normalised():
    r = req(blocks=(1,))
    vs = [ReplicaSnapshot(index=0, queue_length=4), ReplicaSnapshot(index=1, queue_length=2),
          ReplicaSnapshot(index=2, queue_length=0)]
    assert [s for s, _ in PrefixAware().scores(r, vs)] == pytest.approx([0 + 0 + 2, 0 + 1 + 2, 0 + 2 + 2])


def test_prefix_aware_imbalance_guard_sends_to_the_idlest():
    r = req(blocks=(1, 2))
    hot = ReplicaSnapshot(index=0, running=40, cached={1, 2})
    cold = ReplicaSnapshot(index=1, running=2)
    pa = PrefixAware()
    assert pa.route(r, [hot, cold], 0.0) == 1 and pa.guarded == 1
    hot.outstanding = 30                       # gap 28 <= 32: balanced, locality wins
    assert pa.route(r, [hot, cold], 0.0) == 0 and pa.guarded == 1


def test_repr_shows_parameters():
    assert repr(create("router", {"name": "prefix_aware", "kv_weight": 0})).startswith(
        "PrefixAware(prefix_weight=3.0, queue_weight=2.0, kv_weight=0")
    with pytest.raises(ConfigError, match="no parameter 'weight'"):
        create("router", {"name": "prefix_aware", "weight": 1})


# ---- properties ------------------------------------------------------------------------

snapshot = st.builds(
    lambda q, run, total, used_frac, cached: ReplicaSnapshot(
        index=0, queue_length=q, running=run, kv_blocks_total=total,
        kv_blocks_used=int(total * used_frac), cached=cached),
    st.integers(0, 50), st.integers(0, 50), st.integers(1, 5000), st.floats(0, 1),
    st.frozensets(st.integers(0, 7), max_size=8))


@settings(max_examples=60, deadline=None)
@given(st.lists(snapshot, min_size=1, max_size=9), st.lists(st.integers(0, 7), max_size=6),
       st.sampled_from(["round_robin", "random", "least_requests", "least_kv", "prefix_aware",
                        "session_affinity"]), st.integers(-1, 3))
def test_every_router_returns_a_position_in_range(vs, blocks, name, session):
    r = create("router", name)
    for k in range(5):
        i = r.route(req(rid=k, blocks=blocks, session=session), vs, float(k))
        assert isinstance(i, int) and 0 <= i < len(vs)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 30))
def test_round_robin_is_balanced(n, rounds, extra):
    r, vs = RoundRobin(), views(*([0] * n))
    counts = [0] * n
    for _ in range(n * rounds + extra):
        counts[r.route(req(), vs, 0.0)] += 1
        assert max(counts) - min(counts) <= 1
    assert sum(counts) == n * rounds + extra


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 10), st.data())
def test_prefix_aware_prefers_the_longest_prefix_when_loads_are_equal(n, data):
    holder = data.draw(st.integers(0, n - 1))
    blocks = tuple(range(100, 108))
    lens = [data.draw(st.integers(0, 3)) for _ in range(n)]
    lens[holder] = data.draw(st.integers(4, 8))   # the unique longest cached prefix
    load = data.draw(st.integers(0, 20))
    vs = [ReplicaSnapshot(index=i, running=load, kv_blocks_total=100, kv_blocks_used=10,
                          cached=blocks[:k]) for i, k in enumerate(lens)]
    assert PrefixAware().route(req(blocks=blocks), vs, 0.0) == holder


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_least_requests_picks_a_minimum(outstanding):
    i = LeastRequests().route(req(), views(*outstanding), 0.0)
    assert outstanding[i] == min(outstanding)
