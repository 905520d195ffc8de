"""Channel paths of a training step: the links and storage sides each transfer crosses.

The step simulates one representative accelerator per pipeline stage; the
``dp x tp`` accelerators of a stage do the same thing at the same time.  Links
that end at an accelerator (PCIe, NVLink) are private to it: each stage gets its
own channel with one accelerator's share of the link.  Host-side channels (DRAM,
CXL and SSD read/write sides, the NVMe and CXL links) are shared by the whole
node: one channel each, at ``1/(dp x tp)`` of the node's bandwidth, so the
fair share among the stage representatives gives each accelerator its share
(exact when every accelerator moves the same bytes, as data parallelism does).
Channels are ``sim.link`` fair-share channels, the ones the serving engine uses.
"""
from __future__ import annotations

from memsim.sim.link import Channel, Network

from .layout import Layout

__all__ = ["Paths", "LARGE_REQUEST_BYTES"]

LARGE_REQUEST_BYTES = 64 * 2**20
"""Request size for a storage device's bandwidth: optimizer and parameter swaps move whole
sub-groups (DeepSpeed's ``aio.block_size`` is 1 MiB; many are queued at once)."""


class Paths:
    """Builds and caches the channels of one step; ``net`` moves bytes along them."""

    def __init__(self, net: Network, lay: Layout):
        self.net, self.lay = net, lay
        self.hbm = lay.hbm.name
        self.share = lay.dp * lay.tp          # accelerators one representative stands for
        self._chans: dict = {}

    def _channel(self, key, make) -> Channel:
        ch = self._chans.get(key)
        if ch is None:
            ch = self._chans[key] = self.net.register(make())
        return ch

    # ---- per accelerator ---------------------------------------------------------------
    def _gpu_link(self, link, direction: str, stage: int) -> Channel:
        gpus = self.lay.gpus
        bw = link.bandwidth * min(1.0, link.count / gpus)      # one accelerator's share of the links
        d = "both" if link.duplex == "half" else direction
        return self._channel((link.name, d, stage),
                             lambda: Channel(f"{link.name}[{stage}]", d, lambda n, bw=bw: bw, link.latency))

    def gpu_peer(self, stage: int) -> Channel:
        """The accelerator's egress to its peers (collectives and pipeline sends)."""
        link = self.lay.platform.link_between(self.hbm, self.hbm)
        assert link is not None, "resolve() checks a GPU link exists when one is needed"
        return self._gpu_link(link, "out", stage)

    # ---- shared by the node ------------------------------------------------------------
    def _shared_link(self, link, direction: str) -> Channel:
        bw = link.bandwidth * link.count / self.share
        d = "both" if link.duplex == "half" else direction
        return self._channel((link.name, d), lambda: Channel(link.name, d, lambda n, bw=bw: bw, link.latency))

    def device(self, tier_name: str, *, write: bool) -> Channel:
        """The read or write side of a host tier (DRAM, CXL, SSD), shared by the node."""
        t = self.lay.platform.tier(tier_name)
        side = "write" if write else "read"
        if t.kind in ("ssd", "flash"):
            bw = t.bandwidth_at(LARGE_REQUEST_BYTES, t.parallelism, write=write) * t.count
        else:
            bw = (t.write_bw if write else t.read_bw) * t.count
        bw /= self.share
        return self._channel((tier_name, side),
                             lambda: Channel(tier_name, side, lambda n, bw=bw: bw, t.latency))

    # ---- paths -------------------------------------------------------------------------
    def _links(self, src: str, dst: str, stage: int) -> list[Channel]:
        out, cur = [], src
        for link in self.lay.platform.path(src, dst):
            other = link.between[1] if link.between[0] == cur else link.between[0]
            direction = f"{cur}->{other}"
            if self.hbm in link.between:
                out.append(self._gpu_link(link, direction, stage))
            else:
                out.append(self._shared_link(link, direction))
            cur = other
        return out

    def _bounce(self, tier_name: str) -> str | None:
        """DRAM that a transfer to an SSD passes through (pinned buffers), if any."""
        if self.lay.kind_of(tier_name) != "ssd":
            return None
        dram = self.lay.tiers.get("dram")
        return dram.name if dram is not None else None

    def to_gpu(self, tier_name: str, stage: int) -> tuple:
        """Host tier -> accelerator (its read side, the links, pinned DRAM for SSD reads)."""
        chans = [self.device(tier_name, write=False)] + self._links(tier_name, self.hbm, stage)
        bounce = self._bounce(tier_name)
        if bounce:
            chans += [self.device(bounce, write=True), self.device(bounce, write=False)]
        return tuple(chans)

    def from_gpu(self, tier_name: str, stage: int) -> tuple:
        chans = self._links(self.hbm, tier_name, stage) + [self.device(tier_name, write=True)]
        bounce = self._bounce(tier_name)
        if bounce:
            chans += [self.device(bounce, write=True), self.device(bounce, write=False)]
        return tuple(chans)

    def host(self, src: str, dst: str) -> tuple:
        """Between two host tiers (an optimizer swap between SSD and DRAM)."""
        return tuple([self.device(src, write=False)] + self._links(src, dst, 0)
                     + [self.device(dst, write=True)])

    def cpu_stream(self, tier_name: str, *, write: bool) -> tuple:
        """The CPU streaming a host tier (the optimizer step): its read or write side, plus the
        links between it and the CPU's DRAM for memory behind a link (CXL)."""
        dev = self.device(tier_name, write=write)
        dram = self.lay.tiers.get("dram")
        if dram is None or tier_name == dram.name:
            return (dev,)
        if write:
            return tuple(self._links(dram.name, tier_name, 0) + [dev])
        return tuple([dev] + self._links(tier_name, dram.name, 0))

    def traffic(self) -> dict:
        """Bytes each channel carried, per representative accelerator: ``{name/direction: bytes}``."""
        return {f"{c.name}/{c.direction}": c.bytes_total for c in self._chans.values()}
