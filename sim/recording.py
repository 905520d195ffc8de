"""Recording a run: iteration and request rows, occupancy and link samples, and the summary.

The recorder writes every table through its declaration (``sim/tables.py``); ``summarize``
turns the tables and the parts' counters into the flat summary dict of a Result.
"""
from __future__ import annotations

import functools
import operator
from typing import Any

from .records import Records
from .result import summarize_requests
from .tables import ITERATIONS, LINKS, REQUESTS, TIERS, derive_requests

__all__ = ["Recorder", "request_row", "summarize"]


def request_row(tiers: tuple[str, ...]):
    """(columns, row(seq)) for the request table: a Seq attribute per recorded column (the
    attributes are named after them), then the tokens loaded from each lower tier."""
    plain = [c.name for c in REQUESTS.columns if not c.derived and c.per is None]
    get = operator.attrgetter(*plain)
    n = len(tiers)
    columns = plain + [name for c in REQUESTS.columns if c.per for name, _ in c.expand(tiers)]
    if not n:
        return columns, get
    zeros = (0,) * n
    return columns, lambda seq: get(seq) + tuple(seq.tokens_by_store or zeros)[:n]


class Recorder:
    """The four tables of one run, filled while it runs."""

    def __init__(self, parts, *, sample_interval: float, spill_rows: int = 250_000):
        self.parts = parts
        self.cost, self.kv, self.sched, self.hier = parts.cost, parts.kv, parts.sched, parts.hier
        tiers = parts.store_names
        columns, row = request_row(tiers)
        self.requests = Records(REQUESTS, tiers=tiers, columns=columns, spill_rows=spill_rows,
                                derive=functools.partial(derive_requests, tiers=tiers,
                                                         recall=parts.attention_recall))
        self._request_row = row
        parts.sched.record = self.request
        self.iterations = Records(ITERATIONS, spill_rows=spill_rows)
        self.tiers = Records(TIERS, spill_rows=spill_rows)
        self.links = Records(LINKS, spill_rows=spill_rows)
        self.steps_total = 0
        self.batch_steps = 0
        self.sample_interval = sample_interval
        self._next_sample = 0.0
        self._last_tier_t = None
        self._link_bytes_acc = 0.0
        self._last_link_sample = 0.0

    def request(self, seq) -> None:
        """A request left the system (finished, rejected, or still there at the end)."""
        self.requests.append(self._request_row(seq))

    def iteration(self, start_s, duration_s, steps, batch_size, prefill_tokens, decode_tokens, kv_tokens) -> None:
        """One iterations row; the parameters are the table's columns, in order (a test checks)."""
        self.iterations.append((start_s, duration_s, steps, batch_size, prefill_tokens, decode_tokens, kv_tokens))
        self.steps_total += steps
        self.batch_steps += batch_size * steps
        if self.cost.tp > 1:
            self._link_bytes_acc += self.cost.allreduce_bytes_per_token * (prefill_tokens + decode_tokens)

    def sample(self, now: float, *, final: bool = False) -> None:
        if final:  # record up to now, then one last sample that closes the partial interval
            self.sample(now)
            if self._last_tier_t == now:
                return
            self._next_sample = now
        while self._next_sample <= now:
            t = self._next_sample
            self._last_tier_t = t
            self._sample_tiers(t)
            self._sample_links(t)
            self._next_sample += self.sample_interval

    def _sample_tiers(self, t: float) -> None:
        kv, sched, parts = self.kv, self.sched, self.parts
        bb = parts.block_bytes
        self.tiers.append((t, self.cost.hbm.name, kv.used_blocks * bb, parts.kv_capacity_bytes,
                           kv.cached_blocks * bb, sched.running(), sched.queued(),
                           (kv.private_blocks + kv.cached_blocks - kv.evictable_blocks) * bb,
                           (sched.private_kv_tokens() + kv.pinned_tokens) * self.cost.kv_bytes_per_token))
        for st in (self.hier.stores if self.hier is not None else ()):
            self.tiers.append((t, st.name, st.used_bytes, st.capacity_bytes, st.used_bytes, 0, 0,
                               st.used_bytes, st.used_bytes))

    def _sample_links(self, t: float) -> None:
        if self.cost.tp_link is not None:
            self.links.append((t, self.cost.tp_link.name, "both", self._link_bytes_acc, float("nan")))
            self._link_bytes_acc = 0.0
        if self.hier is not None:
            span = max(t - self._last_link_sample, 1e-12)
            for ch, nbytes, busy in self.hier.net.sample():
                util = nbytes / (ch.bandwidth_fn(1) * span) if t > self._last_link_sample else 0.0
                self.links.append((t, ch.name, ch.direction, nbytes, util))
            self._last_link_sample = t

    def finish(self, end_s: float) -> None:
        """Record what is still queued or running, and the last sample."""
        for s in self.sched.unfinished():
            s.status = "unfinished"
            self.request(s)
        self.sample(end_s, final=True)


def summarize(parts, rec: Recorder, requests_col, *, end_s: float, wall_s: float, seed: int) -> dict[str, Any]:
    """The flat summary of a run; ``requests_col(name)`` reads one request column as an array."""
    summary = summarize_requests(requests_col)
    summary.update(_run_summary(parts, rec, requests_col, end_s, wall_s, seed, summary["completed"]))
    summary.update(_kv_summary(parts, rec, requests_col))
    if parts.hier is not None:
        summary.update(_tier_summary(parts.hier, requests_col))
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
        "prefix_evictions": int(parts.kv.evictions),
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
        out["link_bytes"] = float(rec.links.column("bytes").sum())
    is_hbm = rec.tiers.column("tier").astype(str) == parts.cost.hbm.name
    alloc_b = rec.tiers.column("allocated_bytes").astype(float)[is_hbm]
    used_b = rec.tiers.column("kv_bytes").astype(float)[is_hbm]
    busy = alloc_b > 0
    kv = parts.kv
    out.update({
        "kv_allocation": getattr(parts.allocation, "name", "paged"),
        "attention_recall": float(parts.attention_recall),
        "kv_waste_fraction": float(1 - used_b[busy].sum() / alloc_b[busy].sum()) if busy.any() else 0.0,
        "kv_regrows": int(col("regrows").sum()),
        "hbm_hit_blocks": int(kv.hit_blocks), "hbm_miss_blocks": int(kv.miss_blocks),
        "hbm_evicted_blocks": int(kv.evicted_blocks)})
    return out


def _tier_summary(hier, col) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for st in hier.stores:
        looked = st.hit_blocks + st.miss_blocks
        out.update({
            f"{st.name}_hit_blocks": int(st.hit_blocks), f"{st.name}_miss_blocks": int(st.miss_blocks),
            f"{st.name}_hit_ratio": st.hit_blocks / looked if looked else 0.0,
            f"{st.name}_loaded_tokens": int(st.hit_tokens), f"{st.name}_bytes_read": int(st.bytes_read),
            f"{st.name}_bytes_written": int(st.bytes_written), f"{st.name}_evictions": int(st.evicted),
            f"{st.name}_peak_bytes": int(st.peak_chunks * st.chunk_bytes)})
    for (name, direction), ch in sorted(hier.channels.items()):
        out[f"link_{name}_{direction}_bytes"] = float(ch.bytes_total)
    out["loaded_tokens"] = int(col("loaded_tokens").sum())
    out["recomputed_tokens"] = int(col("recomputed_tokens").sum())
    return out
