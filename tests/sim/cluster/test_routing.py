"""Routing stages: role filtering, checked answers, seeded routers, reproducible seeds."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.ground.errors import ConfigError
from memsim.ground.schema import validate
from memsim.policies.router import ReplicaSnapshot
from memsim.sim.cluster.config import ClusterConfig
from memsim.sim.cluster.routing import Stage, build_stages, cluster_seeds
from memsim.workloads.request import Request

REQ = Request(request_id=0, arrival_s=0.0, input_tokens=512, output_tokens=4, hash_ids=(1,), hash_block_tokens=512)


def pd_views(roles):
    return [ReplicaSnapshot(index=i, role=r, running=(7 * i) % 5) for i, r in enumerate(roles)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["prefill", "decode"]), min_size=2, max_size=10).filter(
    lambda rs: "prefill" in rs and "decode" in rs),
    st.sampled_from(["round_robin", "random", "least_requests", "least_kv", "prefix_aware", "session_affinity"]))
def test_no_router_ever_picks_a_replica_of_the_wrong_role(roles, name):
    cfg = validate(ClusterConfig, {"pools": [{"name": "p", "role": "prefill"}, {"name": "d", "role": "decode"}],
                                   "router": name})
    stages = build_stages(cfg, pd_views(roles), seed=3)
    for k in range(12):
        assert stages["arrival"].pick(REQ, float(k)).role == "prefill"
        assert stages["decode"].pick(REQ, float(k)).role == "decode"
    assert sum(stages["arrival"].routed) == 12


def test_a_router_answering_out_of_range_is_a_one_line_error():
    class Bad:
        name = "bad"

        def route(self, request, replicas, now_s):
            return len(replicas)
    st_ = Stage("arrival", Bad(), pd_views(["mixed", "mixed"]), field="cluster.router")
    with pytest.raises(ConfigError, match=r"cluster.router: router 'bad' returned 2; expected a position 0..1"):
        st_.pick(REQ, 0.0)
    with pytest.raises(ConfigError, match="no replica of role decode for the decode router"):
        Stage("decode", Bad(), pd_views(["mixed"]), field="cluster.decode_router")


def test_random_routers_are_seeded_from_the_scenario():
    cfg = validate(ClusterConfig, {"replicas": 4, "router": "random"})
    views = [ReplicaSnapshot(index=i) for i in range(4)]
    picks = [[build_stages(cfg, views, seed=s)["arrival"].pick(REQ, 0.0).index for _ in range(1)] for s in (1, 1)]
    a = build_stages(cfg, views, seed=1)["arrival"]
    b = build_stages(cfg, views, seed=1)["arrival"]
    c = build_stages(cfg, views, seed=2)["arrival"]
    sa = [a.pick(REQ, 0.0).index for _ in range(40)]
    assert sa == [b.pick(REQ, 0.0).index for _ in range(40)] and picks[0] == picks[1]
    assert sa != [c.pick(REQ, 0.0).index for _ in range(40)]


def test_cluster_seeds_are_distinct_and_stable():
    ar, dr, reps = cluster_seeds(5, 4)
    assert len(reps) == 3
    states = {tuple(s.generate_state(2)) for s in (ar, dr, *reps)}
    assert len(states) == 5
    assert tuple(cluster_seeds(5, 9)[0].generate_state(2)) == tuple(ar.generate_state(2))
