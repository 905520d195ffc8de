"""The cluster network: placement, ports from the hardware file, paths, conservation, fair sharing."""
from __future__ import annotations

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.ground.errors import ConfigError
from memsim.ground.schema import validate
from memsim.hwmodels import load_platform
from memsim.sim.cluster.config import ClusterConfig, NetworkConfig
from memsim.sim.cluster.network import ClusterNetwork
from memsim.sim.cluster.placement import Ports, place, ports_for
from memsim.sim.link import Network

GB = 1e9


def pools(data):
    c = validate(ClusterConfig, data)
    return c.resolved_pools(platform="h100_sxm", model="llama-3.1-8b", tp=1)


def build(nodes=(0, 0, 1, 1), nic=50 * GB, nvl=450 * GB, lat=0.0, spine=None, pool=None):
    env = simpy.Environment()
    net = Network(env)
    ps = place(pools({"pools": [{"name": "a", "replicas": len(nodes)}]}), {"h100_sxm": 8}, mode="packed")
    ps = [p.__class__(replica=p.replica, pool=p.pool, role=p.role, platform=p.platform, node=n, gpus=p.gpus)
          for p, n in zip(ps, nodes)]
    ports = [Ports(nic_bytes_per_s=nic, nic_latency_s=lat, nvlink_bytes_per_s=nvl, nvlink_latency_s=0.0)] * len(ps)
    return env, ClusterNetwork(net, ps, ports, spine_bytes_per_s=spine, pool=pool)


def test_placement_by_pool_and_packed():
    ps = pools({"pools": [{"name": "p", "replicas": 3, "role": "prefill", "tp": 2},
                          {"name": "d", "replicas": 2, "role": "decode", "tp": 4}]})
    by_pool = place(ps, {"h100_sxm": 8})
    assert [(p.pool, p.node, p.gpus) for p in by_pool] == [
        ("p", 0, (0, 1)), ("p", 0, (2, 3)), ("p", 0, (4, 5)), ("d", 1, (0, 1, 2, 3)), ("d", 1, (4, 5, 6, 7))]
    packed = place(ps, {"h100_sxm": 8}, mode="packed")
    assert [(p.node, p.gpus) for p in packed] == [
        (0, (0, 1)), (0, (2, 3)), (0, (4, 5)), (1, (0, 1, 2, 3)), (1, (4, 5, 6, 7))]   # 4 GPUs do not fit in 2
    ps2 = pools({"pools": [{"name": "p", "replicas": 1, "role": "prefill", "tp": 4},
                           {"name": "d", "replicas": 1, "role": "decode", "tp": 4}]})
    assert [p.node for p in place(ps2, {"h100_sxm": 8}, mode="packed")] == [0, 0]
    assert [p.node for p in place(ps2, {"h100_sxm": 8})] == [0, 1]
    with pytest.raises(ConfigError, match=r"pools\[0\].tp: tp=16 needs more GPUs than one h100_sxm node"):
        place(pools({"pools": [{"name": "a", "tp": 16}]}), {"h100_sxm": 8})


def test_ports_come_from_the_hardware_file_unless_given():
    h100 = load_platform("h100_sxm")
    p = ports_for(h100, 2, NetworkConfig(), need_nic=True)
    # DGX H100: 8 ConnectX-7 at 400 Gb/s (50 GB/s) for 8 GPUs: a tp=2 replica gets two of them
    assert p.nic_bytes_per_s == pytest.approx(2 * 50 * GB) and p.nic_latency_s == pytest.approx(2e-6)
    assert p.nvlink_bytes_per_s == pytest.approx(2 * 450 * GB)
    given_ = ports_for(h100, 1, validate(NetworkConfig, {"nic_bandwidth": "200 Gb/s", "nics_per_node": 4,
                                                        "nic_latency": "5 us", "nvlink": False}), need_nic=True)
    assert given_.nic_bytes_per_s == pytest.approx(25 * GB * 4 / 8) and given_.nvlink_bytes_per_s is None
    h200 = load_platform("h200_sxm")     # no remote tier in its file: the NIC must be given
    assert ports_for(h200, 1, NetworkConfig(), need_nic=False).nic_bytes_per_s is None
    with pytest.raises(ConfigError, match="network.nic_bandwidth: platform 'h200_sxm' has no link"):
        ports_for(h200, 1, NetworkConfig(), need_nic=True)


def test_paths_nvlink_inside_a_node_nic_across():
    env, cn = build(spine=100 * GB, pool=(500 * GB, 400 * GB, 1e-6))
    assert [c.name for c in cn.kv_path(0, 1)] == ["nvlink", "nvlink"]
    assert [(c.name, c.direction) for c in cn.kv_path(1, 2)] == [("nic", "r1->fabric"), ("spine", "both"),
                                                                 ("nic", "fabric->r2")]
    assert cn.kv_path(3, 3) == ()
    assert [c.name for c in cn.pool_read_path(0)] == ["kv_pool", "spine", "nic"]
    assert [c.name for c in cn.pool_write_path(2)] == ["nic", "spine", "kv_pool"]


def test_one_transfer_takes_latency_plus_bytes_over_bandwidth():
    env, cn = build(lat=2e-6)
    ev = cn.send(10 * GB, cn.kv_path(0, 2), tag="kv")
    env.run()
    assert ev.triggered and env.now == pytest.approx(2e-6 + 10 * GB / (50 * GB))


def test_contention_shares_a_nic_fairly():
    """Two transfers leave replica 0's NIC together: each gets half (0.4 s for 10 GB each);
    a third on disjoint NICs runs at full rate (0.2 s)."""
    env, cn = build(nodes=(0, 1, 2, 3, 4))
    ends = {}
    for name, (a, b) in {"x": (0, 1), "y": (0, 2), "z": (3, 4)}.items():
        cn.send(10 * GB, cn.kv_path(a, b), tag="kv").callbacks.append(lambda _e, n=name: ends.__setitem__(n, env.now))
    env.run()
    assert ends["x"] == pytest.approx(0.4) and ends["y"] == pytest.approx(0.4) and ends["z"] == pytest.approx(0.2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 10**9), st.floats(0, 0.05),
                          st.sampled_from(["kv", "pool_read", "pool_write", "layerwise"])),
                min_size=1, max_size=25))
def test_conservation_bytes_on_every_link_equal_the_sum_of_its_transfers(transfers):
    env, cn = build(nodes=(0, 0, 1, 1, 2, 3), spine=80 * GB, pool=(200 * GB, 100 * GB, 1e-6))
    expect: dict[int, float] = {}
    sampled: dict[int, float] = {}

    def start(a, b, n, kind):
        if kind == "kv":
            path = cn.kv_path(a, b)
            cn.send(n, path, tag=kind)
        elif kind == "pool_read":
            path = cn.pool_read_path(a)
            cn.send(n, path, tag=kind)
        elif kind == "pool_write":
            path = cn.pool_write_path(a)
            cn.send(n, path, tag=kind)
        else:
            path = cn.kv_path(a, b)
            cn.send_layerwise(n, path, compute_s=0.01, layers=32, tag=kind)
        for c in path:
            expect[id(c)] = expect.get(id(c), 0.0) + n

    for a, b, n, at, kind in transfers:
        env.timeout(at).callbacks.append(lambda _e, a=a, b=b, n=n, k=kind: start(a, b, n, k))

    def sampler():
        while True:
            yield env.timeout(0.003)
            for c, nbytes, _busy in cn.net.sample():
                sampled[id(c)] = sampled.get(id(c), 0.0) + nbytes
    env.process(sampler())
    env.run(until=60.0)
    assert cn.net.in_flight() == 0
    for c, nbytes, _busy in cn.net.sample():
        sampled[id(c)] = sampled.get(id(c), 0.0) + nbytes
    for c in cn.channels:
        assert c.bytes_total == pytest.approx(expect.get(id(c), 0.0), rel=1e-9, abs=1e-3)
        assert sampled.get(id(c), 0.0) == pytest.approx(c.bytes_total, rel=1e-6, abs=1e-3)
    assert sum(cn.sent_bytes.values()) == pytest.approx(sum(t[2] for t in transfers))


@pytest.mark.parametrize("compute_s, expected", [
    (2.0, 2.0 + 1.0 / 10),       # link faster than compute: the last layer's tail after the compute
    (0.5, 0.5 / 10 + 1.0),       # link slower: the whole transfer after the first layer
])
def test_layerwise_stream_reaches_the_overlap_bound(compute_s, expected):
    env, cn = build(nodes=(0, 1), nic=1 * GB)
    done = cn.send_layerwise(1 * GB, cn.kv_path(0, 1), compute_s=compute_s, layers=10, tag="kv")
    t = {}
    done.callbacks.append(lambda _e: t.setdefault("done", env.now))
    env.run()
    assert t["done"] == pytest.approx(expected)
    assert cn.kv_path(0, 1)[0].bytes_total == pytest.approx(1 * GB)


def test_a_missing_nic_is_a_config_error_when_a_path_needs_it():
    env = simpy.Environment()
    ps = place(pools({"pools": [{"name": "a", "replicas": 2, "tp": 8}]}), {"h100_sxm": 8})
    cn = ClusterNetwork(Network(env), ps, [Ports(None, 0.0, None, 0.0)] * 2)
    with pytest.raises(ConfigError, match="cluster.network.nic_bandwidth"):
        cn.kv_path(0, 1)
