"""Recording a run: iteration and request rows, occupancy and link samples, and the summary.

The recorder writes every table through its declaration (``sim/tables.py``); ``summarize``
turns the tables and the parts' counters into the flat summary dict of a Result.
"""
from __future__ import annotations

import functools
import operator
import warnings
from typing import Any

import pandas as pd

from .records import Records
from .result import summarize_requests
from .sampling import MAX_SAMPLES, Samples, SamplingWarning
from .tables import ITERATIONS, LINKS, REQUESTS, TIERS, derive_requests

__all__ = ["Recorder", "request_row", "summarize"]


def request_row(tiers: tuple[str, ...], *, cluster: bool = False):
    """(columns, row(seq)) for the request table: a Seq attribute per recorded column (the
    attributes are named after them), then the tokens loaded from each lower tier."""
    plain = [c.name for c in REQUESTS.present(cluster) if not c.derived and c.per is None]
    get = operator.attrgetter(*plain)
    n = len(tiers)
    columns = plain + [name for c in REQUESTS.columns if c.per for name, _ in c.expand(tiers)]
    if not n:
        return columns, get
    zeros = (0,) * n
    return columns, lambda seq: get(seq) + tuple(seq.tokens_by_store or zeros)[:n]


class Recorder:
    """The four tables of one run, filled while it runs.

    ``replica`` is the replica's index in a cluster run (None: a one-replica run); its
    rows then carry the cluster columns, and ``requests`` may be one table every
    replica of the cluster records into (a request finishes where it decoded).
    """

    def __init__(self, parts, *, sample_interval: float, spill_rows: int = 250_000,
                 max_samples: int = MAX_SAMPLES, replica: int | None = None, requests: Records | None = None):
        self.parts = parts
        self.cost, self.kv, self.sched, self.hier = parts.cost, parts.kv, parts.sched, parts.hier
        self.replica = replica
        cluster = replica is not None
        tiers = parts.store_names
        columns, row = request_row(tiers, cluster=cluster)
        self.requests = requests if requests is not None else Records(
            REQUESTS, tiers=tiers, columns=columns, spill_rows=spill_rows, cluster=cluster,
            derive=functools.partial(derive_requests, tiers=tiers, recall=parts.attention_recall, cluster=cluster))
        if list(self.requests.columns) != columns:
            raise AssertionError("replicas of one cluster record different request columns")
        self._request_row = row
        parts.sched.record = self.request
        self._rep = () if replica is None else (replica,)   # the iteration row's cluster column
        self.iterations = Records(ITERATIONS, spill_rows=spill_rows, cluster=cluster)
        self.steps_total = 0
        self.batch_steps = 0
        self._link_bytes_acc = 0.0
        self._net, chans = _network(parts)
        self._channels = list(chans.values())
        self.samples = _samples(parts, self._state, sample_interval, max_samples)
        #: called at every serving-loop step: samples every grid time up to now
        self.sample = self.samples.take
        self.tiers: pd.DataFrame | None = None    # built by finish()
        self.links: pd.DataFrame | None = None

    def request(self, seq) -> None:
        """A request left the system (finished, rejected, or still there at the end)."""
        self.requests.append(self._request_row(seq))

    def iteration(self, start_s, duration_s, steps, batch_size, prefill_tokens, decode_tokens, kv_tokens,
                  stall_s) -> None:
        """One iterations row; the parameters are the table's columns, in order (a test checks)."""
        self.iterations.append((start_s, duration_s, steps, batch_size, prefill_tokens, decode_tokens, kv_tokens,
                                stall_s) + self._rep)
        self.steps_total += steps
        self.batch_steps += batch_size * steps
        if self.cost.tp > 1:
            self._link_bytes_acc += self.cost.allreduce_bytes_per_token * (prefill_tokens + decode_tokens)

    def _state(self):
        """Occupancy now and traffic since the last call, in the layout of ``Samples``."""
        kv, sched, bb = self.kv, self.sched, self.parts.block_bytes
        ints = [kv.used_blocks * bb, kv.cached_blocks * bb, sched.running(), sched.queued(),
                (kv.private_blocks + kv.cached_blocks - kv.evictable_blocks) * bb]
        kvb = [(sched.private_kv_tokens() + kv.pinned_tokens) * self.cost.kv_bytes_per_token]
        nbytes = []
        if self.cost.tp_link is not None:
            nbytes.append(self._link_bytes_acc)
            self._link_bytes_acc = 0.0
        if self.hier is not None:
            for st in self.hier.stores:
                u = st.used_bytes
                ints += (u, u, 0, 0, u)
                kvb.append(u)
        if self._net is not None:
            # a cluster's replicas share one network: each samples its own channels
            sampled = self._net.sample(None if self.replica is None else self._channels)
            # the rows were laid out from Hierarchy.channels: the network must report the same ones
            assert len(sampled) == len(self._channels) and all(
                c is k for (c, _, _), k in zip(sampled, self._channels)), "link rows out of order"
            nbytes += [b for _, b, _ in sampled]
        return ints, kvb, nbytes

    def finish(self, end_s: float) -> None:
        """Record what is still queued or running, take the last sample, build the sample tables."""
        for s in self.sched.unfinished():
            s.status = "unfinished"
            self.request(s)
        sm = self.samples
        sm.close(end_s)
        if sm.widened:
            warnings.warn(f"engine.sample_interval: {sm.requested_s:.6g} s would take more than "
                          f"{sm.max_samples:,} samples over {end_s:.6g} simulated seconds; sampled every "
                          f"{sm.interval_s:.6g} s instead", SamplingWarning, stacklevel=3)
        tiers, links = pd.DataFrame(sm.tier_columns()), pd.DataFrame(sm.link_columns())
        cluster = self.replica is not None
        if cluster:
            tiers["replica"] = self.replica
            links["replica"] = self.replica
        self.tiers = TIERS.conform(tiers, cluster=cluster)
        self.links = LINKS.conform(links, cluster=cluster)


def _samples(parts, state, interval_s: float, max_samples: int) -> Samples:
    """The sample grid of a run: a row per tier (HBM first) and per channel (the all-reduce first)."""
    hier, tp_link = parts.hier, parts.cost.tp_link
    stores = hier.stores if hier is not None else []
    links = [(tp_link.name, "both")] if tp_link is not None else []
    bandwidths = [float("nan")] * len(links)
    for ch in _network(parts)[1].values():
        links.append((ch.name, ch.direction))
        bandwidths.append(ch.bandwidth_fn(1))
    return Samples(interval_s=interval_s, tiers=[parts.cost.hbm.name] + [st.name for st in stores],
                   capacities=[parts.kv_capacity_bytes] + [st.capacity_bytes for st in stores],
                   links=links, bandwidths=bandwidths, state=state, max_samples=max_samples)


def _network(parts):
    """(network, channels by key) the links table samples: the KV hierarchy's (weights and
    experts share them), else the beyond-HBM stream's own, else none."""
    if parts.hier is not None:
        return parts.hier.net, parts.hier.channels
    if parts.beyond is not None:
        return parts.beyond.links.net, parts.beyond.links.channels
    return None, {}


def summarize(parts, rec: Recorder, requests_col, *, end_s: float, wall_s: float, seed: int) -> dict[str, Any]:
    """The flat summary of a run; ``requests_col(name)`` reads one request column as an array."""
    summary = summarize_requests(requests_col)
    summary.update(_run_summary(parts, rec, requests_col, end_s, wall_s, seed, summary["completed"]))
    summary.update(_kv_summary(parts, rec, requests_col))
    if parts.hier is not None:
        summary.update(_tier_summary(parts.hier, requests_col))
    if parts.context is not None:
        summary.update(parts.context.counts)
    if parts.beyond is not None:
        summary.update(parts.beyond.summary())
    return summary


def _run_summary(parts, rec, col, end_s, wall, seed, completed) -> dict[str, Any]:
    sim_time = float(end_s)
    out_tokens = int(col("generated_tokens").sum())
    return {
        "sim_time_s": sim_time,
        "wall_time_s": wall,
        "sim_speed": sim_time / wall if wall > 0 else float("inf"),
        "throughput_tok_s": out_tokens / sim_time if sim_time > 0 else 0.0,
        "throughput_req_s": completed / sim_time if sim_time > 0 else 0.0,
        "iterations": int(rec.steps_total),
        "batch_runs": int(len(rec.iterations)),
        "mean_batch_size": float(rec.batch_steps / rec.steps_total) if rec.steps_total else 0.0,
        "kv_capacity_bytes": int(parts.kv_capacity_bytes),
        "kv_blocks": int(parts.kv.total_blocks),
        "hbm_peak_used_bytes": int(parts.kv.peak_used_blocks * parts.block_bytes),
        "prefix_evictions": int(parts.kv.pool.evictions),
        "ttl_pinned_turns": int(parts.sched.ttl_pinned_turns),
        "weight_bytes": int(parts.model.weight_bytes),
        "platform": parts.platform.name,
        "model": parts.model.name,
        "tp": parts.cost.tp,
        "seed": seed,
    }


def _kv_summary(parts, rec, col) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if len(rec.links):
        out["link_bytes"] = float(rec.links["bytes"].to_numpy().sum())
    tiers = rec.tiers
    is_hbm = tiers["tier"].to_numpy().astype(str) == parts.cost.hbm.name
    alloc_b = tiers["allocated_bytes"].to_numpy().astype(float)[is_hbm]
    used_b = tiers["kv_bytes"].to_numpy().astype(float)[is_hbm]
    busy = alloc_b > 0
    kv = parts.kv
    out.update(parts.cost.timing_summary())
    out.update({
        "kv_allocation": getattr(parts.allocation, "name", "paged"),
        "attention_recall": float(parts.attention_recall),
        "kv_waste_fraction": float(1 - used_b[busy].sum() / alloc_b[busy].sum()) if busy.any() else 0.0,
        "kv_regrows": int(col("regrows").sum()),
        "hbm_hit_blocks": int(kv.pool.hits), "hbm_miss_blocks": int(kv.pool.misses),
        "hbm_evicted_blocks": int(kv.pool.evicted_size)})
    return out


def _tier_summary(hier, col) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for st in hier.stores:
        pool = st.pool
        looked = pool.hits + pool.misses
        out.update({
            f"{st.name}_hit_blocks": int(pool.hits), f"{st.name}_miss_blocks": int(pool.misses),
            f"{st.name}_hit_ratio": pool.hits / looked if looked else 0.0,
            f"{st.name}_loaded_tokens": int(st.hit_tokens), f"{st.name}_bytes_read": int(st.bytes_read),
            f"{st.name}_bytes_written": int(st.bytes_written), f"{st.name}_evictions": int(pool.evictions),
            f"{st.name}_peak_bytes": int(pool.peak * st.chunk_bytes)})
    for (name, direction), ch in sorted(hier.channels.items()):
        out[f"link_{name}_{direction}_bytes"] = float(ch.bytes_total)
    out["loaded_tokens"] = int(col("loaded_tokens").sum())
    out["recomputed_tokens"] = int(col("recomputed_tokens").sum())
    return out
