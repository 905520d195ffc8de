"""The KV hierarchy below HBM: lower tiers, the links between them, and the policies that move KV.

On admission a request's prefix is looked up tier by tier (HBM first, by the KV
manager; then each lower tier in order) as one run of consecutive blocks; the
load policy decides how much of the lower-tier part to load, and loads are
transfers on the real link path (fair-shared with every other transfer).  Blocks
go down by write-through (when created) or write-back (when evicted), in batches
flushed once per engine step, and are stored when their transfer completes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from memsim.ground.errors import ConfigError

from .link import Channel, Network
from .ssd import SSD
from .tierstore import TierStore

__all__ = ["Hierarchy", "LoadPlan"]


@dataclass(slots=True)
class LoadPlan:
    found: list            # [(block index, store index)] consecutive blocks found below HBM
    load_blocks: int       # how many of them to load (a prefix)
    load_tokens: int
    tokens_by_store: list  # tokens loaded from each store
    load_s: float          # estimated load time of the chosen prefix
    recompute_s: float     # estimated recompute time of the chosen prefix


@dataclass
class _Pending:
    blocks: list = field(default_factory=list)   # [(h, tokens, hits)]
    nbytes: int = 0


class Hierarchy:
    def __init__(self, env: simpy.Environment, *, platform, hbm, tiers, kv_bytes_per_token: int,
                 tp: int, cost, layers: int, write, load, prefetch, promotion, overlap, wake,
                 net: Network | None = None, shared=None, replica: int = 0):
        self.env = env
        # a cluster passes its one network (and, with a shared KV pool, the pool: sim/cluster/kvpool.py)
        self.net = net if net is not None else Network(env)
        self.shared, self.replica = shared, replica
        self.platform, self.hbm, self.tp, self.cost, self.layers = platform, hbm, tp, cost, layers
        self.write, self.load, self.prefetch, self.promotion, self.overlap = write, load, prefetch, promotion, overlap
        self.kv_bytes_per_token = kv_bytes_per_token
        self.wake = wake
        self.stores: list[TierStore] = []
        self.hw_tiers = []
        for i, cfg in enumerate(tiers):
            hw = platform.tier(cfg.tier)
            if hw.kind in ("sram", "hbm"):
                raise ConfigError(f"tier {cfg.tier!r} is {hw.kind}; KV tiers lie below HBM "
                                  f"(dram, cxl, flash, ssd, remote)", field=f"[{i}].tier")
            self.hw_tiers.append(hw)
            self.stores.append(TierStore(name=cfg.tier, kind=hw.kind, capacity_bytes=cfg.capacity_bytes(hw),
                                         chunk_tokens=cfg.chunk_tokens, kv_bytes_per_token=kv_bytes_per_token,
                                         eviction=cfg.eviction))
        self._channels: dict[tuple, Channel] = {}
        if shared is not None:   # the cluster's pool is the only tier: its paths cross this replica's NIC
            self.stores.append(shared.store_for(kv_bytes_per_token))
            self.hw_tiers.append(shared.hw)
            self.read_path = [shared.read_path(replica)]
            self.into_hbm = [self.read_path[0][-1]]
            self.write_path = {(-1, 0): shared.write_path(replica)}
            self.prefetch_path = {}
        else:
            names = [hbm.name] + [s.name for s in self.stores]
            self.read_path = [self._path(names[i + 1], hbm.name, read_store=i) for i in range(len(self.stores))]
            self.into_hbm = [p[-1] for p in self.read_path]
            self.write_path = {(-1, 0): self._path(hbm.name, names[1], write_store=0)} if self.stores else {}
            for i in range(len(self.stores) - 1):
                self.write_path[(i, i + 1)] = self._path(names[i + 1], names[i + 2], read_store=i,
                                                         write_store=i + 1)
            self.prefetch_path = {i: self._path(names[i + 1], names[1], read_store=i, write_store=0)
                                  for i in range(1, len(self.stores))}
        self._pending: dict[tuple, _Pending] = {}
        self._inflight: set[tuple] = set()    # (store index, h) being written
        #: store index -> blocks that landed while every entry there was pinned (see _land)
        self._waiting: dict[int, list] = {}
        self.prefetch_waits: dict[int, simpy.Event] = {}
        self.loaded_bytes = [0] * len(self.stores)
        #: bytes each store's read side sent up to the first lower tier (prefetch)
        self.prefetched_bytes = [0] * len(self.stores)
        #: evictions from HBM can start writes (write-back / selective demotion)
        self.demotes = bool(self.stores) and self.write.can_demote

    # ---- channels ----------------------------------------------------------------------
    @property
    def channels(self) -> dict[tuple[str, str], Channel]:
        """Every channel by (name, direction), e.g. for traffic totals."""
        return self._channels

    def _channel(self, key, make) -> Channel:
        ch = self._channels.get(key)
        if ch is None:
            ch = self.net.register(make())
            self._channels[key] = ch
        return ch

    def _link_channel(self, link, a: str, b: str) -> Channel:
        touches_hbm = self.hbm.name in link.between
        copies = min(self.tp, link.count) if touches_hbm else link.count
        bw = link.bandwidth * max(1, copies)
        direction = "both" if link.duplex == "half" else f"{a}->{b}"
        return self._channel((link.name, direction),
                             lambda: Channel(link.name, direction, lambda n, bw=bw: bw, link.latency))

    def _device_channel(self, store_idx: int, write: bool) -> Channel | None:
        store, hw = self.stores[store_idx], self.hw_tiers[store_idx]
        side = "write" if write else "read"
        if hw.kind in ("ssd", "flash"):
            # the one SSD model memsim flash and memsim offload use too: the tier's size x
            # queue-depth curve over all its drives, access latency inside the curve
            ssd = SSD(hw, queue_depth=max(1, hw.parallelism), devices=max(1, hw.count))
            return self._channel((store.name, side), lambda: Channel(
                store.name, side, ssd.channel_bandwidth_fn(store.chunk_bytes, write=write),
                ssd.channel_latency_s))
        rate = (hw.write_bw if write else hw.read_bw) * max(1, hw.count)

        def bw(n, rate=rate):
            return rate
        return self._channel((store.name, side), lambda: Channel(store.name, side, bw, hw.latency))

    def _path(self, src: str, dst: str, *, read_store: int | None = None, write_store: int | None = None):
        chans = []
        if read_store is not None:
            chans.append(self._device_channel(read_store, write=False))
        cur = src
        for link in self.platform.path(src, dst):
            other = link.between[1] if link.between[0] == cur else link.between[0]
            chans.append(self._link_channel(link, cur, other))
            cur = other
        if write_store is not None:
            chans.append(self._device_channel(write_store, write=True))
        return tuple(chans)

    # ---- lookup and load --------------------------------------------------------------------
    def find(self, hash_ids, first: int) -> list[tuple[int, int]]:
        """Consecutive blocks from ``first`` on that some lower tier holds: [(block, store)]."""
        out = []
        stores = self.stores
        for i in range(first, len(hash_ids)):
            h = hash_ids[i]
            for s, store in enumerate(stores):
                if h in store.entries:
                    out.append((i, s))
                    break
            else:
                break
        return out

    def plan(self, seq, first: int, context_tokens: int, max_tokens: int) -> LoadPlan | None:
        """The load decision for a request whose HBM prefix ends at block ``first`` (no side effects).

        For every prefix j of the found blocks it estimates the load time (each
        store's bytes over its read path at the current fair shares; the links
        into HBM shared by all) and the recompute time, and lets the load policy choose.
        """
        if not self.stores or not seq.hash_ids:
            return None
        found = self.find(seq.hash_ids, first)
        if not found:
            return None
        nstore = len(self.stores)
        hb, n_in = seq.hb, seq.input_tokens
        idx = np.fromiter((i for i, _ in found), dtype=np.int64, count=len(found))
        sto = np.fromiter((k for _, k in found), dtype=np.int64, count=len(found))
        tok = np.minimum(hb, n_in - idx * hb)
        cum = np.cumsum(tok)
        keep = int(np.searchsorted(context_tokens + cum, max_tokens, side="left"))  # >= 1 token computed
        if keep == 0:
            return LoadPlan(found=found, load_blocks=0, load_tokens=0, tokens_by_store=[0] * nstore,
                            load_s=0.0, recompute_s=0.0)
        idx, sto, tok, cum = idx[:keep], sto[:keep], tok[:keep], cum[:keep]
        est = np.zeros(keep)
        into: dict[int, np.ndarray] = {}
        for k in range(nstore):
            mask = sto == k
            if not mask.any():
                continue
            store = self.stores[k]
            nbytes = np.cumsum(np.where(mask, -(-tok // store.chunk_tokens) * store.chunk_bytes, 0))
            lat, rate = self._path_rate(self.read_path[k])
            est = np.maximum(est, np.where(nbytes > 0, lat + nbytes / rate, 0.0))
            ch = id(self.into_hbm[k])
            into[ch] = into.get(ch, 0) + nbytes
        for k in range(nstore):
            nbytes = into.pop(id(self.into_hbm[k]), None)
            if nbytes is not None:
                lat, rate = self._path_rate((self.into_hbm[k],))
                est = np.maximum(est, lat + nbytes / rate)
        rec = self.cost.prefill_compute_s_array(context_tokens, cum)
        load_s = np.concatenate(([0.0], est))
        recompute_s = np.concatenate(([0.0], rec))
        j = int(self.load.choose(load_s, recompute_s))
        tokens_by_store = [int(tok[:j][sto[:j] == k].sum()) for k in range(nstore)]
        return LoadPlan(found=found, load_blocks=j, load_tokens=int(cum[j - 1]) if j else 0,
                        tokens_by_store=tokens_by_store, load_s=float(load_s[j]), recompute_s=float(recompute_s[j]))

    def _path_rate(self, channels) -> tuple[float, float]:
        """(latency, rate) a new transfer on this path would get with the current sharing."""
        rate = min(c.bandwidth_fn(c.active + 1) / (c.active + 1) for c in channels)
        return sum(c.latency_s for c in channels), rate

    def count_lookup(self, plan: LoadPlan | None, first: int, total_blocks: int, now: float) -> None:
        """Per-tier hit/miss counters for one admission (blocks below HBM)."""
        found = plan.found if plan else []
        for s, store in enumerate(self.stores):
            # a block is looked up in tier s if no faster lower tier had it
            looked = sum(1 for _, k in found if k >= s) + (1 if first + len(found) < total_blocks else 0)
            hits = sum(1 for _, k in found if k == s)
            store.pool.record(hits, looked - hits)

    def start_load(self, seq, plan: LoadPlan, now: float, on_ready) -> None:
        """Pin and transfer the chosen blocks; call ``on_ready(seq)`` when the request may prefill."""
        groups: dict[int, float] = {}
        pinned = []
        for i, s in plan.found[:plan.load_blocks]:
            h = seq.hash_ids[i]
            store = self.stores[s]
            store.touch(h, now)
            store.pin(h)
            pinned.append((s, h))
            t = seq.hash_block_tokens(i)
            store.hit_tokens += t
            nbytes = store.bytes_for(t)
            store.bytes_read += nbytes
            self.loaded_bytes[s] += nbytes
            groups[s] = groups.get(s, 0.0) + nbytes
        events = [self.net.transfer(b, self.read_path[s], tag="load") for s, b in groups.items()]
        done = self.env.all_of(events)
        hold = None
        if self.overlap.layerwise:
            c = self.cost.prefill_compute_s(seq.computed, seq.target - seq.computed)
            l_est = plan.load_s
            hold = max(0.0, l_est - min(l_est, c) * (1 - 1.0 / self.layers))

        def finished(_ev):
            for s, h in pinned:
                self.stores[s].unpin(h, self.env.now)
            if self._waiting:
                self._retry({s for s, _ in pinned}, self.env.now)
            if hold is None:
                on_ready(seq)
            self.wake()

        done.callbacks.append(finished)
        if hold is not None:
            t = self.env.timeout(hold)
            t.callbacks.append(lambda _ev: (on_ready(seq), self.wake()))

    # ---- writes ---------------------------------------------------------------------------
    def on_hbm_insert(self, h: int, tokens: int, now: float) -> None:
        if self.stores and self.write.through:
            self._queue(-1, 0, h, tokens, 0)

    def on_hbm_evict(self, h: int, tokens: int, hits: int, now: float) -> None:
        if self.stores and self.write.demote(hits):
            self._queue(-1, 0, h, tokens, hits)

    def _queue(self, src: int, dst: int, h: int, tokens: int, hits: int) -> None:
        store = self.stores[dst]
        if store.chunks_for(tokens) > store.capacity_chunks:
            return  # larger than the whole tier: it could never land
        if self.shared is not None:
            if not self.shared.claim(h):   # stored, or another replica is writing it
                return
        elif h in store.entries or (dst, h) in self._inflight:
            return  # there already, or on its way
        else:
            self._inflight.add((dst, h))
        p = self._pending.setdefault((src, dst), _Pending())
        p.blocks.append((h, tokens, hits))
        p.nbytes += store.bytes_for(tokens)

    def flush(self, now: float) -> None:
        """Start one transfer per (source, destination) for the writes queued this step."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        for (src, dst), p in pending.items():
            path = self.write_path[(src, dst)] if src < 0 or dst == src + 1 else self.prefetch_path[src]
            if 0 <= dst < src:
                self.prefetched_bytes[src] += p.nbytes
            ev = self.net.transfer(p.nbytes, path, tag="write" if src < dst else "prefetch")
            ev.callbacks.append(lambda _ev, dst=dst, blocks=p.blocks: self._stored(dst, blocks))

    def _stored(self, dst: int, blocks) -> None:
        now = self.env.now
        for block in blocks:
            self._land(dst, block, now)
        self.flush(now)
        self.wake()

    def _land(self, dst: int, block, now: float) -> None:
        """Store a block whose transfer into ``dst`` ended; it waits if every entry there is pinned.

        Its bytes have crossed the tier's write channel, so dropping it would leave the
        channel carrying bytes the tier never wrote (and a prefetch silently lost):
        it waits in the tier's write buffer for the first read there to end.
        """
        h, tokens, _hits = block
        if self.shared is not None:
            # the cluster's pool: written once cluster-wide; a refused write releases its claim
            evicted = self.shared.landed(self.replica, h, tokens, now)
            if evicted is None:
                return
        else:
            evicted = self.stores[dst].insert(h, tokens, now, hits=0)
            if evicted is None:
                self._waiting.setdefault(dst, []).append(block)
                return
            self._inflight.discard((dst, h))
        if self.write.through and dst + 1 < len(self.stores):
            self._queue(dst, dst + 1, h, tokens, 0)
        for key, e in evicted:
            if dst + 1 < len(self.stores) and self.write.demote(e.hits):
                self._queue(dst, dst + 1, key, e.tokens, e.hits)

    def _retry(self, stores, now: float) -> None:
        """Reads in these stores ended: blocks waiting in their write buffers try again."""
        for s in stores:
            waiting = self._waiting.pop(s, None)
            if waiting:
                for block in waiting:
                    self._land(s, block, now)
                self.flush(now)

    # ---- prefetch ---------------------------------------------------------------------------
    def on_arrival(self, seq, first: int, now: float) -> None:
        """Promote the queued request's blocks that sit only in slower tiers into the first lower tier."""
        if not self.prefetch.on_arrival or len(self.stores) < 2 or not seq.hash_ids:
            return
        for i, s in self.find(seq.hash_ids, first):
            if s >= 1:
                h = seq.hash_ids[i]
                self._queue(s, 0, h, seq.hash_block_tokens(i), self.stores[s].entries[h].hits)

    def prefetch_pending(self, seq) -> bool:
        """True while blocks of this request's prefix are still on their way up."""
        if not self._inflight or not seq.hash_ids:
            return False
        return any((0, h) in self._inflight for h in seq.hash_ids)

    # ---- checks and samples ------------------------------------------------------------------
    def check(self) -> None:
        for s in self.stores:
            s.check()
