"""The cluster network: each replica's NIC and NVLink ports, an optional spine, a shared KV pool's side.

Every port is a ``memsim.sim.link.Channel`` registered on the one ``Network`` of
the simulation, so prefill-to-decode KV transfers, shared-pool loads and stores,
and each replica's own tier traffic share bandwidth by the same fair-share rule.
A path between two replicas of one node is (src NVLink out, dst NVLink in); between
nodes it is (src NIC out, [spine], dst NIC in).  The NIC latency is charged once,
on the sending side.
"""
from __future__ import annotations

from collections.abc import Sequence

import simpy

from memsim.ground.errors import ConfigError

from ..link import Channel, Network
from .placement import Placement, Ports

__all__ = ["ClusterNetwork"]


def _fixed(rate: float):
    def bw(n, rate=rate):
        return rate
    return bw


class ClusterNetwork:
    """The ports of ``placements[i]`` are ``ports[i]``; ``pool`` is (read B/s, write B/s, latency s) or None."""

    def __init__(self, net: Network, placements: Sequence[Placement], ports: Sequence[Ports], *,
                 spine_bytes_per_s: float | None = None, pool: tuple[float, float, float] | None = None):
        if len(placements) != len(ports):
            raise ValueError("one Ports per placement")
        self.net = net
        self.env: simpy.Environment = net.env
        self.placements = list(placements)
        self.ports = list(ports)
        self._nic_out: list[Channel | None] = []
        self._nic_in: list[Channel | None] = []
        self._nvl_out: list[Channel | None] = []
        self._nvl_in: list[Channel | None] = []
        for p, port in zip(self.placements, self.ports):
            r = p.replica
            nic, nvl = port.nic_bytes_per_s, port.nvlink_bytes_per_s
            self._nic_out.append(None if nic is None else self._add("nic", f"r{r}->fabric", nic, port.nic_latency_s))
            self._nic_in.append(None if nic is None else self._add("nic", f"fabric->r{r}", nic, 0.0))
            self._nvl_out.append(None if nvl is None else self._add("nvlink", f"r{r}->node{p.node}", nvl,
                                                                     port.nvlink_latency_s))
            self._nvl_in.append(None if nvl is None else self._add("nvlink", f"node{p.node}->r{r}", nvl, 0.0))
        self.spine = None if spine_bytes_per_s is None else self._add("spine", "both", spine_bytes_per_s, 0.0)
        self.pool_read = self.pool_write = None
        if pool is not None:
            read_bw, write_bw, latency = pool
            self.pool_read = self._add("kv_pool", "read", read_bw, latency)
            self.pool_write = self._add("kv_pool", "write", write_bw, latency)
        #: bytes handed to ``send`` per tag (exact, counted when the transfer is started)
        self.sent_bytes: dict[str, float] = {}

    def _add(self, name: str, direction: str, rate: float, latency: float) -> Channel:
        if not rate > 0:
            raise ConfigError(f"{name} {direction}: bandwidth {rate!r} must be > 0")
        return self.net.register(Channel(name, direction, _fixed(float(rate)), float(latency)))

    @property
    def channels(self) -> list[Channel]:
        """Every channel this network added, in creation order."""
        out = [c for group in zip(self._nic_out, self._nic_in, self._nvl_out, self._nvl_in) for c in group]
        out += [self.spine, self.pool_read, self.pool_write]
        return [c for c in out if c is not None]

    # ---- paths ---------------------------------------------------------------------------
    def kv_path(self, src: int, dst: int) -> tuple[Channel, ...]:
        """Channels a KV transfer from replica ``src`` to replica ``dst`` crosses."""
        if src == dst:
            return ()
        a, b = self.placements[src], self.placements[dst]
        if a.node == b.node and a.platform == b.platform and self._nvl_out[src] is not None \
                and self._nvl_in[dst] is not None:
            return (self._nvl_out[src], self._nvl_in[dst])
        return self._across(self._nic(src, out=True), self._nic(dst, out=False))

    def pool_read_path(self, replica: int) -> tuple[Channel, ...]:
        """Shared pool -> replica ``replica``'s HBM."""
        return self._across(self._pool(self.pool_read), self._nic(replica, out=False))

    def pool_write_path(self, replica: int) -> tuple[Channel, ...]:
        """Replica ``replica``'s HBM -> shared pool."""
        return self._across(self._nic(replica, out=True), self._pool(self.pool_write))

    def _across(self, first: Channel, last: Channel) -> tuple[Channel, ...]:
        return (first, last) if self.spine is None else (first, self.spine, last)

    def _nic(self, r: int, *, out: bool) -> Channel:
        ch = (self._nic_out if out else self._nic_in)[r]
        if ch is None:
            raise ConfigError(f"replica {r} ({self.placements[r].pool}) has no NIC bandwidth; set "
                              f"cluster.network.nic_bandwidth", field="cluster.network.nic_bandwidth")
        return ch

    def _pool(self, ch: Channel | None) -> Channel:
        if ch is None:
            raise AssertionError("no shared KV pool in this cluster")
        return ch

    # ---- transfers -----------------------------------------------------------------------
    def send(self, nbytes: float, path: tuple[Channel, ...], *, tag: str, meta=None) -> simpy.Event:
        """Start a transfer on ``path``; the event fires (value: the Transfer) when its bytes arrived."""
        self.sent_bytes[tag] = self.sent_bytes.get(tag, 0.0) + float(nbytes)
        if not path:   # same replica: nothing moves
            ev = self.env.event()
            ev.succeed(None)
            return ev
        return self.net.transfer(nbytes, path, tag=tag, meta=meta)

    def send_layerwise(self, nbytes: float, path: tuple[Channel, ...], *, compute_s: float, layers: int,
                       tag: str, meta=None) -> simpy.Event:
        """Stream the KV of ``layers`` layers computed over the next ``compute_s`` seconds.

        Layer l's KV exists at ``(l + 1) * compute_s / layers``.  Two transfers stand for
        the stream: the first ``layers - 1`` layers start when the first layer is done;
        the last layer starts when both that transfer and the compute have finished.
        So the result arrives at about ``max(compute_s + T / layers, compute_s / layers + T)``
        (T: the whole transfer alone), the layer-wise bound, with two events not ``layers``.
        """
        if layers <= 1 or not path or nbytes <= 0:
            done = self.env.event()
            t = self.env.timeout(max(0.0, compute_s))
            t.callbacks.append(lambda _e: self.send(nbytes, path, tag=tag, meta=meta).callbacks.append(
                lambda ev: done.succeed(ev.value)))
            return done
        last = float(nbytes) / layers
        bulk = float(nbytes) - last
        self.sent_bytes[tag] = self.sent_bytes.get(tag, 0.0) + float(nbytes)
        done = self.env.event()

        def start_bulk(_e):
            ev = self.net.transfer(bulk, path, tag=tag, meta=meta)
            both = self.env.all_of([ev, compute])
            both.callbacks.append(start_last)

        def start_last(_e):
            self.net.transfer(last, path, tag=tag, meta=meta).callbacks.append(lambda ev: done.succeed(ev.value))

        compute = self.env.timeout(max(0.0, compute_s))
        self.env.timeout(max(0.0, compute_s) / layers).callbacks.append(start_bulk)
        return done
