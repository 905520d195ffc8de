"""The cluster: and slo: sections: both forms, defaults filled from the scenario, one-line errors."""
from __future__ import annotations

import pytest

from memsim.ground.errors import ConfigError
from memsim.ground.schema import validate
from memsim.sim.cluster.config import ClusterConfig, SLOConfig


def load(data) -> ClusterConfig:
    return validate(ClusterConfig, data, file="s.yaml", prefix="cluster")


def test_simple_form_is_one_mixed_pool_of_the_scenario():
    c = load({"replicas": 4, "router": "prefix_aware"})
    assert not c.disaggregated and c.total_replicas == 4
    (p,) = c.resolved_pools(platform="h100_sxm", model="llama-3.1-8b", tp=2)
    assert (p.platform, p.model, p.tp, p.replicas, p.role) == ("h100_sxm", "llama-3.1-8b", 2, 4, "mixed")


def test_general_form_heterogeneous_pd():
    c = load({"pools": [{"name": "p", "platform": "h100_sxm", "replicas": 2, "role": "prefill"},
                        {"name": "d", "platform": "h200_sxm", "tp": 2, "replicas": 3, "role": "decode"}],
              "router": "least_requests", "decode_router": {"name": "least_kv"},
              "network": {"nic_bandwidth": "400 Gb/s", "nics_per_node": 8, "nic_latency": "2 us"},
              "kv_transfer": {"mode": "layerwise"},
              "kv_pool": {"capacity": "16 TiB", "eviction": "s3fifo"}})
    assert c.disaggregated and c.total_replicas == 5
    assert c.network.nic_bandwidth == 50e9 and c.network.nic_latency == 2e-6
    assert c.kv_pool.capacity == 16 * 2**40
    p, d = c.resolved_pools(platform="x", model="llama-3.1-8b", tp=1)
    assert (p.platform, p.tp, d.platform, d.tp, d.model) == ("h100_sxm", 1, "h200_sxm", 2, "llama-3.1-8b")


@pytest.mark.parametrize("data, message", [
    ({"replicas": 0}, "s.yaml: cluster.replicas: 0 replicas: a cluster needs at least 1"),
    ({"pools": [{"name": "a", "replicas": 0}]}, "cluster.pools[0].replicas: 0 replicas"),
    ({"pools": []}, "cluster.pools: an empty list"),
    ({"replicas": 2, "router": "round_robbin"}, "cluster.router: unknown router policy 'round_robbin' "
                                                "(did you mean 'round_robin'?)"),
    ({"replicas": 2, "router": {"name": "prefix_aware", "kv_weigth": 1}},
     "cluster.router.kv_weigth: router policy 'prefix_aware' has no parameter 'kv_weigth'"),
    ({"pools": [{"name": "d", "role": "decode"}]}, "cluster.pools: decode pool 'd' has no prefill pool"),
    ({"pools": [{"name": "p", "role": "prefill"}]}, "cluster.pools: prefill pool 'p' has no decode pool"),
    ({"pools": [{"name": "m"}, {"name": "p", "role": "prefill"}, {"name": "d", "role": "decode"}]},
     "cluster.pools: mixed pools cannot be combined"),
    ({"pools": [{"name": "a"}, {"name": "a"}]}, "cluster.pools: pool name 'a' appears twice (pools[0] and pools[1])"),
    ({"replicas": 2, "network": {"nic_bandwidth": "0 Gb/s"}}, "cluster.network.nic_bandwidth: a network link "
                                                              "needs a bandwidth > 0"),
    ({"replicas": 2, "network": {"spine_bandwidth": 0}}, "cluster.network.spine_bandwidth: a network link"),
    ({"replicas": 2, "network": {"nic_bandwidth": "400 Gb"}}, "'400 Gb' is a size; expected a bandwidth"),
    ({"replicas": 2, "pools": [{"name": "a"}]}, "cluster.pools: give either replicas: N or pools"),
    ({}, "cluster.replicas: a cluster needs replicas: N or pools"),
    ({"replicas": 2, "decode_router": "random"}, "cluster.decode_router: only used with prefill and decode"),
    ({"replicas": 2, "kv_transfer": {"mode": "layerwise"}}, "cluster.kv_transfer.mode: only used with"),
    ({"replicas": 2, "kv_pool": {"capacity": "0 GiB"}}, "cluster.kv_pool.capacity: '0 GiB' must be > 0"),
    ({"replicas": 2, "kv_pool": {"eviction": "lruu"}}, "cluster.kv_pool.eviction: unknown eviction policy"),
    ({"replicas": 2, "routers": "random"}, "cluster.routers: unknown key (did you mean 'router'?)"),
])
def test_bad_configs_give_one_line_naming_the_field(data, message):
    with pytest.raises(ConfigError) as e:
        load(data)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_slo():
    s = validate(SLOConfig, {"ttft": "2 s", "tpot": "100 ms"})
    assert (s.ttft, s.tpot) == (2.0, 0.1)
    assert validate(SLOConfig, {"tpot": "50 ms"}).ttft is None
    for bad, msg in (({}, "give ttft, tpot or both"), ({"ttft": 0}, "ttft: an SLO must be > 0"),
                     ({"ttft": 2}, "has no unit")):
        with pytest.raises(ConfigError, match=msg):
            validate(SLOConfig, bad, prefix="slo")
