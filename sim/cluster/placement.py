"""Which node each replica sits on, and what network ports it gets there.

A node is one machine of a pool's platform (``compute.count`` GPUs, e.g. a DGX with
8).  A replica of tp GPUs takes tp GPU slots of one node (tensor parallelism never
spans nodes here).  ``by_pool`` starts every pool on fresh nodes (prefill and
decode talk over RDMA, as in Mooncake and DistServe's inter-node placement);
``packed`` lets pools of one platform fill the same nodes, so a prefill and a
decode replica may share a node and talk over NVLink.
"""
from __future__ import annotations

from dataclasses import dataclass

from memsim.ground.errors import ConfigError

__all__ = ["Placement", "Ports", "place", "ports_for"]


@dataclass(frozen=True, slots=True)
class Placement:
    """One replica's place: cluster index, pool, role, node id and GPU slots in that node."""

    replica: int
    pool: str
    role: str
    platform: str
    node: int
    gpus: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Ports:
    """A replica's network numbers, per direction: its NICs (None: none known) and NVLink."""

    nic_bytes_per_s: float | None
    nic_latency_s: float
    nvlink_bytes_per_s: float | None
    nvlink_latency_s: float


def place(pools, gpus_per_node: dict[str, int], *, mode: str = "by_pool") -> list[Placement]:
    """Placements of every replica, in pool order then replica order (the cluster's indices).

    ``pools``: resolved pool configs (name, platform, tp, replicas, role);
    ``gpus_per_node``: GPUs of one node per platform name.
    """
    out: list[Placement] = []
    next_node = 0
    open_node: dict[str, tuple[int, int]] = {}   # platform -> (node, GPUs used) being filled
    for k, pool in enumerate(pools):
        per_node = gpus_per_node[pool.platform]
        if pool.tp > per_node:
            raise ConfigError(f"tp={pool.tp} needs more GPUs than one {pool.platform} node has ({per_node}); "
                              f"tensor parallelism across nodes is not modelled", field=f"pools[{k}].tp")
        if mode == "by_pool":
            open_node.pop(pool.platform, None)
        for _ in range(pool.replicas):
            node, used = open_node.get(pool.platform, (None, per_node))
            if node is None or used + pool.tp > per_node:
                node, used = next_node, 0
                next_node += 1
            out.append(Placement(replica=len(out), pool=pool.name, role=pool.role, platform=pool.platform,
                                 node=node, gpus=tuple(range(used, used + pool.tp))))
            open_node[pool.platform] = (node, used + pool.tp)
    return out


def ports_for(platform, tp: int, network, *, need_nic: bool, field: str = "network") -> Ports:
    """A replica's ports on ``platform`` with ``tp`` GPUs, from the scenario's network section.

    NICs are rail-attached: a node's ``nics_per_node`` NICs are split evenly over its
    GPUs, so a replica gets ``nics_per_node * tp / gpus_per_node`` of them (a static
    share when there are fewer NICs than GPUs).  Unset NIC numbers come from the platform's link to a ``remote`` tier (the
    RDMA fabric); ``need_nic`` makes their absence an error naming the field.
    NVLink is the platform's HBM-to-HBM link, ``tp`` ports of it per replica.
    """
    gpus = platform.compute.count
    fabric = next((link for link in platform.links
                   if any(platform.tier(end).kind == "remote" for end in link.between)), None)
    bw = network.nic_bandwidth if network.nic_bandwidth is not None else getattr(fabric, "bandwidth", None)
    nics = network.nics_per_node or getattr(fabric, "count", None) or gpus
    lat = network.nic_latency if network.nic_latency is not None else getattr(fabric, "latency", 0.0)
    if bw is None and need_nic:
        raise ConfigError(f"platform {platform.name!r} has no link to a remote tier to take NIC numbers from; "
                          f"give the NIC bandwidth (e.g. \"400 Gb/s\")", field=f"{field}.nic_bandwidth")
    nic = None if bw is None else bw * nics * tp / gpus
    hbm = platform.tier_of_kind("hbm")
    nvl = platform.link_between(hbm.name, hbm.name) if hbm is not None and network.nvlink else None
    return Ports(nic_bytes_per_s=nic, nic_latency_s=float(lat),
                 nvlink_bytes_per_s=None if nvl is None else nvl.bandwidth * min(tp, nvl.count),
                 nvlink_latency_s=0.0 if nvl is None else float(nvl.latency))
