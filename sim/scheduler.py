"""Continuous batching with a token budget (vLLM-style), over the HBM KV manager.

Each iteration: every decoding sequence gets one token; the remaining budget goes
to prefill chunks, first of sequences already prefilling, then of waiting ones
admitted in FCFS order while the batch has room and their blocks can be had.
When a decode step cannot get a block, the most recently admitted sequence is
preempted (its KV dropped, to be recomputed) and requeued at the front.
"""
from __future__ import annotations

import math
from collections import deque

from .batch import DecodeSet
from .costmodel import IterationShape
from .seq import Seq

__all__ = ["Seq", "Scheduler"]


class Scheduler:
    """Holds the waiting queue, the prefilling list and the decode set; plans and applies iterations."""

    def __init__(self, *, kv, cost, max_batch_size: int, max_batch_tokens: int, chunked_prefill: bool,
                 hierarchy=None, allocation=None, rng=None, session_ttl=None, wake=None):
        self.kv = kv
        self.cost = cost
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.chunked = chunked_prefill
        self.B = kv.block_tokens
        self.waiting: deque[Seq] = deque()
        self.prefilling: list[Seq] = []
        self.loading: list[Seq] = []
        self.hier = hierarchy
        self.alloc = allocation          # None: plain paged blocks on demand
        self.rng = rng
        self.session_ttl = session_ttl   # None | "auto" | seconds: keep a finished turn's KV pinned
        self.wake = wake                 # the serve loop's Wakeup: wake.after(delay_s, fn) runs fn later
        self.ttl_pending = 0             # TTL pins not yet released
        self.ttl_pinned_turns = 0
        self.decoding = DecodeSet(max_batch_size, self.B)
        self.done: list[Seq] = []
        self.n_done = 0
        #: where finished or rejected sequences go (the engine records and drops them)
        self.record = self.done.append
        self._admit_counter = 0
        self.on_finish = None  # callback(seq) set by the engine
        self.replica = 0       # this replica's index in a cluster (the request table's replica)
        #: prefill/decode disaggregation: on_prefilled(seq, now) -> True takes a prefilled prompt
        #: (and its blocks) away to a decode replica (sim/cluster/handoff.py)
        self.on_prefilled = None
        #: on_iteration(chunks, now, duration_s): an iteration of prefill chunks starts (layer-wise handoff)
        self.on_iteration = None
        self.handoffs = 0      # handoffs in progress that will change this replica's blocks or batch

    # ---- arrivals and state queries --------------------------------------------------
    def arrive(self, req, now: float) -> None:
        """Queue an arrived request (or reject one that could never run); start its prefetch."""
        seq = Seq(req, self.B, self.replica)
        if self.reject_if_impossible(seq):
            return
        self.waiting.append(seq)
        hier = self.hier
        if hier is not None and hier.prefetch.on_arrival:
            hier.on_arrival(seq, self.peek_prefix(seq)[0], now)
            if 0 < hier.prefetch.wait_s < math.inf:
                # the prefetch window ends: let a waiting loop re-plan
                self.wake.after(max(0.0, req.arrival_s + hier.prefetch.wait_s - now))

    def running(self) -> int:
        return len(self.prefilling) + len(self.decoding) + len(self.loading)

    def queued(self) -> int:
        return len(self.waiting)

    def idle(self) -> bool:
        return not self.waiting and not self.prefilling and not len(self.decoding) and not self.loading

    def outside_pending(self) -> bool:
        """Is anything outside the serve loop due to change the batch (transfers, loads, TTLs)?"""
        hier = self.hier
        return bool(self.loading or self.ttl_pending or self.handoffs
                    or (hier is not None and hier.net.in_flight()))

    def private_kv_tokens(self) -> int:
        """KV tokens running requests hold in their own blocks (not in shared cache entries)."""
        return self.decoding.private_tokens() + sum(
            q.computed - q.shared_tokens for q in self.prefilling) + sum(
            q.computed - q.shared_tokens for q in self.loading)

    def unfinished(self) -> list[Seq]:
        """Every sequence still queued or running, its decode state copied back onto it."""
        ds = self.decoding
        for s in ds.seqs:
            ds.sync(s)
        return list(self.waiting) + list(self.prefilling) + list(self.loading) + list(ds.seqs)

    def reject_if_impossible(self, seq: Seq) -> bool:
        """Reject a request that could never run here; True if rejected."""
        need = self.kv.blocks_for(seq.input_tokens + seq.output_tokens)
        cap = getattr(self.alloc, "max_tokens", None)
        if cap is not None and seq.input_tokens + seq.output_tokens > cap:
            seq.reason = f"needs {seq.input_tokens + seq.output_tokens} tokens; max_length reserves {cap}"
        elif need > self.kv.total_blocks:
            seq.reason = (f"needs {need} KV blocks; HBM holds {self.kv.total_blocks}")
        elif not self.chunked and seq.input_tokens > self.max_batch_tokens:
            seq.reason = (f"prompt of {seq.input_tokens} tokens exceeds max_batch_tokens="
                          f"{self.max_batch_tokens} without chunked prefill")
        else:
            return False
        seq.status = "rejected"
        self.n_done += 1
        self.record(seq)
        return True

    def peek_prefix(self, seq: Seq) -> tuple[int, int, int]:
        """(hit blocks, hit tokens, evictable blocks among them) without touching anything."""
        kv = self.kv
        if seq.looked_up or not kv.prefix_cache or not seq.hash_ids:
            return len(seq.pinned), seq.shared_tokens, 0
        hits = tokens = evictable = 0
        for i, h in enumerate(seq.hash_ids):
            e = kv.entries.get(h)
            if e is None:
                break
            t = seq.hash_block_tokens(i)
            if tokens + t >= seq.target:
                break
            hits += 1
            tokens += t
            if e.refs == 0:
                evictable += e.size
        return hits, tokens, evictable

    def _head_need(self, budget: int, now: float):
        """For the waiting head: (chunk, blocks needed, evictable-among-hits, load plan), or None
        if it cannot go.  A head that will load from lower tiers takes no chunk this iteration."""
        seq = self.waiting[0]
        hits, tokens, pinned_evictable = self.peek_prefix(seq)
        hier = self.hier
        if hier is not None and not seq.looked_up:
            if hier.prefetch.wait_s > 0 and now - seq.arrival_s < hier.prefetch.wait_s \
                    and hier.prefetch_pending(seq):
                return None
            plan = hier.plan(seq, hits, tokens, seq.target)
            if plan is not None and plan.load_blocks:
                need = self.kv.blocks_for(plan.load_tokens)
                return 0, need, pinned_evictable, plan
        start = max(seq.computed, tokens)
        c = min(seq.target - start, budget)
        if not self.chunked and c < seq.target - start and self.running() == 0 and seq.preemptions:
            # a preempted request recomputes prompt + generated tokens, which may exceed the
            # budget its prompt alone fitted: with nothing else running it goes in whole
            c = seq.target - start
        if c <= 0 or (not self.chunked and c < seq.target - start):
            return None
        need = max(self.kv.blocks_for(start + c - tokens), self._reservation(seq)) - seq.held
        return c, need, pinned_evictable, None

    def _reservation(self, seq: Seq) -> int:
        """Blocks the allocation policy reserves for this request (drawn once per request)."""
        if self.alloc is None:
            return 0
        if seq.reserved_blocks == 0 and not seq.looked_up:
            tokens = self.alloc.reserve_tokens(seq.input_tokens, seq.output_tokens, self.rng)
            seq.reserved_blocks = self.kv.blocks_for(tokens) if tokens else 0
        return seq.reserved_blocks

    def head_admittable(self, now: float) -> bool:
        if not self.waiting or self.running() >= self.max_batch_size:
            return False
        budget = self.max_batch_tokens - len(self.decoding)
        if budget <= 0:
            return False
        got = self._head_need(budget, now)
        if got is None:
            return False
        _, need, pinned_evictable, _ = got
        return need <= self.kv.available_blocks() - pinned_evictable

    # ---- one general iteration ----------------------------------------------------
    def plan(self, now: float):
        """Choose one iteration's work, allocating its blocks. Returns (shape, chunks) or None."""
        n_dec = self._take_decode_blocks(now)
        decode_kv = self.decoding.kv_total() + n_dec
        chunks, budget, starved = self._continue_prefills(self.max_batch_tokens - n_dec, now)
        if not starved:
            self._admit_waiting(budget, now, chunks)
        if not n_dec and not chunks:
            if len(self.prefilling) > 1:
                # partly prefilled requests hold the blocks each other needs and nothing
                # decodes: preempt the newest (as vLLM does) and try again
                self._preempt_newest(now)
                return self.plan(now)
            return None
        return self._shape(chunks, n_dec, decode_kv), chunks

    def _take_decode_blocks(self, now: float) -> int:
        """Decodes first: one more token each, preempting the newest sequences if blocks run out."""
        ds = self.decoding
        if self.alloc is not None:
            ds.regrow(self.alloc, self.B)
        while len(ds):
            if self.kv.take(ds.blocks_needed(1), now):
                break
            self._preempt_newest(now)
        return len(ds)

    def _continue_prefills(self, budget: int, now: float):
        """Chunks for sequences already prefilling: (chunks, budget left, starved of blocks?)."""
        kv = self.kv
        chunks: list[tuple[Seq, int]] = []
        for seq in self.prefilling:
            if budget <= 0:
                break
            c = min(seq.target - seq.computed, budget)
            if not self.chunked and c < seq.target - seq.computed:
                break
            need = max(kv.blocks_for(seq.computed + c - seq.shared_tokens), seq.reserved_blocks) - seq.held
            if need > 0 and not kv.take(need, now):
                return chunks, budget, True  # running work lacks blocks: admit nothing new (as vLLM)
            seq.held += max(need, 0)
            chunks.append((seq, c))
            budget -= c
        return chunks, budget, False

    def _admit_waiting(self, budget: int, now: float, chunks: list) -> None:
        """Admit waiting requests in FCFS order while the batch has room and their blocks can be had."""
        while self.waiting and budget > 0 and self.running() < self.max_batch_size:
            got = self._head_need(budget, now)
            if got is None:
                return
            c_head, need, pinned_evictable, load_plan = got
            if need > self.kv.available_blocks() - pinned_evictable:
                head = self.waiting[0]
                if self.running() == 0 and not head.looked_up and (pinned_evictable or load_plan):
                    # Nothing runs, yet pinning its cached prefix leaves too little room (cache
                    # entries can cost more blocks than the same tokens computed privately when
                    # hash blocks are smaller than KV blocks): admit it without the cache.
                    head.looked_up = True
                    continue
                return
            budget = max(0, budget - self._admit_head(now, c_head, need, load_plan, chunks))

    def _admit_head(self, now: float, c: int, need: int, load_plan, chunks: list) -> int:
        """Admit the waiting head: start its load, or give it a prefill chunk.  Returns the chunk."""
        kv = self.kv
        seq = self.waiting.popleft()
        self._lookup(seq, now, load_plan)
        seq.looked_up = True
        if load_plan is not None:
            ok = kv.take(need, now)
            assert ok, "admission check and allocation disagree"
            seq.held += need
            self._admitted(seq, now, "loading")
            self.loading.append(seq)
            self.hier.start_load(seq, load_plan, now, self._loaded)
            return 0
        need = max(kv.blocks_for(seq.computed + c - seq.shared_tokens), seq.reserved_blocks) - seq.held
        ok = kv.take(need, now)
        assert ok, "admission check and allocation disagree"
        seq.held += need
        self._admitted(seq, now, "prefill")
        self.prefilling.append(seq)
        chunks.append((seq, c))
        return c

    def _shape(self, chunks, n_dec: int, decode_kv: int) -> IterationShape:
        pt = pairs = pkv = last = 0
        for seq, c in chunks:
            pt += c
            pairs += self.cost.causal_pairs(seq.computed, c)
            pkv += seq.computed + c
            if seq.computed + c == seq.target:
                last += 1
        return IterationShape(prefill_tokens=pt, prefill_pairs=pairs, prefill_kv_tokens=pkv,
                              decode_seqs=n_dec, decode_kv_tokens=decode_kv, prefill_last_tokens=last,
                              prefill_chunks=tuple((seq.computed, c) for seq, c in chunks))

    def apply(self, chunks, end: float) -> None:
        """Account for a finished iteration planned by ``plan``."""
        ds = self.decoding
        if len(ds):
            ds.advance(1)  # blocks were taken in plan()
            for seq in ds.finished():
                self._finish(seq, end)
        for seq, c in chunks:
            seq.computed += c
            if seq.computed == seq.target:
                self.prefilling.remove(seq)
                self._prefill_done(seq, end)

    # ---- closed-form decode runs ----------------------------------------------------
    def decode_run_possible(self, now: float) -> bool:
        """True when the next iterations are decode-only and stay so until a completion
        (or until an outside event -- a load, a write, an arrival -- wakes the engine)."""
        return len(self.decoding) > 0 and not self.prefilling and not self.head_admittable(now)

    def decode_batch(self) -> tuple[int, int]:
        """(sequences decoding, the KV tokens they hold)."""
        return len(self.decoding), self.decoding.kv_total()

    def decode_run_limit(self) -> int:
        """Most decode steps before the batch must be re-planned: the first completion, the step
        where blocks run out, the first eviction when one would matter, or a reservation outgrown."""
        ds = self.decoding
        upper = ds.min_remaining()
        avail = self.kv.available_blocks()
        if self.head_evictable_hits() or (self.hier is not None and self.hier.demotes) or self.ttl_pending:
            # an eviction inside the run would start a write (or change the head's
            # prefix) at that step, and a TTL expiring mid-run unpins entries before
            # the run's allocations are applied: stop the run before the first one
            avail = self.kv.free_blocks
        upper = ds.max_steps_for_blocks(avail, upper)
        return ds.steps_within_reservation(upper)  # outgrowing one re-plans (regrowth)

    def head_evictable_hits(self) -> int:
        """Blocks of unpinned cached entries the blocked waiting head would hit.

        While this is > 0, an eviction during a decode run can turn the head's hit
        into a miss and (with a budget-bound chunk) make it admissible, so runs
        must stop before the first eviction.
        """
        if not self.waiting:
            return 0
        return self.peek_prefix(self.waiting[0])[2]

    def advance_decode(self, k: int, end: float) -> None:
        """Apply k decode steps (their blocks not yet taken) ending at ``end``."""
        ds = self.decoding
        need = ds.blocks_needed(k)
        ok = self.kv.take(need, end)
        assert ok, "closed-form run planned more blocks than available"
        ds.advance(k)
        for seq in ds.finished():
            self._finish(seq, end)

    # ---- transitions ----------------------------------------------------------------
    def _admitted(self, seq: Seq, now: float, status: str) -> None:
        if seq.scheduled_s != seq.scheduled_s:  # NaN: first time in a batch
            seq.scheduled_s = now
        seq.status = status
        seq.admit_order = self._admit_counter
        self._admit_counter += 1

    def _loaded(self, seq: Seq) -> None:
        """Lower-tier KV for ``seq`` has arrived (called from a transfer's completion)."""
        if seq.status != "loading":
            return
        self.loading.remove(seq)
        seq.status = "prefill"
        seq.ready_s = self.kv_now()
        self.prefilling.append(seq)

    def kv_now(self) -> float:
        return self.hier.env.now if self.hier is not None else float("nan")

    def _lookup(self, seq: Seq, now: float, load_plan=None) -> None:
        if seq.looked_up:
            return
        seq.looked_up = True
        if not seq.hash_ids or not self.kv.prefix_cache:
            return
        pinned, tokens = self.kv.lookup(seq.hash_ids, seq.hash_block_tokens, now, seq.target)
        seq.pinned = pinned
        seq.shared_tokens = tokens
        seq.computed = tokens
        seq.prefix_hit_tokens = tokens
        if not seq.preemptions:  # a re-admission would find the request's own blocks
            seq.prefix_hit_blocks = len(pinned)
            seq.found_blocks = self._found(seq)
            self.kv.count_lookup(len(pinned), len(seq.hash_ids))
        if self.hier is not None:
            if load_plan is None:
                load_plan = self.hier.plan(seq, len(pinned), tokens, seq.target)
            self.hier.count_lookup(load_plan, len(pinned), len(seq.hash_ids), now)
            if load_plan is not None and load_plan.load_blocks:
                seq.computed += load_plan.load_tokens
                seq.loaded_tokens = load_plan.load_tokens
                seq.tokens_by_store = load_plan.tokens_by_store
                seq.loaded_ids = {seq.hash_ids[i] for i, _ in load_plan.found[:load_plan.load_blocks]}

    def _found(self, seq: Seq) -> int:
        """Consecutive prefix blocks cached anywhere (the trace's notion of a prefix hit)."""
        entries = self.kv.entries
        stores = self.hier.stores if self.hier is not None else ()
        n = 0
        for h in seq.hash_ids:
            if h in entries or any(h in st.entries for st in stores):
                n += 1
            else:
                break
        return n

    def _prefill_done(self, seq: Seq, end: float) -> None:
        kv = self.kv
        # donate the prompt's prefix blocks to the cache (they now hold valid KV)
        if kv.prefix_cache and seq.hash_ids:
            hier = self.hier
            skip = seq.loaded_ids if hier is not None and not hier.promotion.cache_in_hbm else None
            ids, tokens, held = kv.donate(seq.hash_ids, len(seq.pinned), seq.hash_block_tokens,
                                          seq.computed - seq.shared_tokens, seq.held, end, skip=skip or None,
                                          on_insert=hier.on_hbm_insert if hier is not None else None)
            seq.pinned.extend(ids)
            seq.shared_tokens += tokens
            seq.held = held
        if self.on_prefilled is not None and seq.output_tokens > 1 and self.on_prefilled(seq, end):
            return
        seq.generated_tokens += 1
        if seq.first_token_s != seq.first_token_s:
            seq.first_token_s = end
        if seq.generated_tokens >= seq.output_tokens:
            self._finish(seq, end)
        else:
            seq.status = "decode"
            self.decoding.add(seq)

    # ---- prefill/decode handoff (sim/cluster/handoff.py) --------------------------------
    def reserve_transfer(self, seq: Seq, now: float) -> tuple[list, int, int] | None:
        """Decode side: pin the prompt's prefix cached here and take blocks for the rest of it.

        Returns (pinned ids, prompt tokens already held here: they need not move, blocks
        taken), or None when the blocks cannot be had now.  ``seq`` is left as it is: its
        prefill replica may still be computing it (a layer-wise transfer)."""
        kv = self.kv
        pinned, tokens = ([], 0)
        if kv.prefix_cache and seq.hash_ids:
            pinned, tokens = kv.lookup(seq.hash_ids, seq.hash_block_tokens, now, seq.target)
        # a reserving allocation (kv.allocation) holds the request's reservation here too
        need = max(kv.blocks_for(seq.target - tokens), seq.reserved_blocks)
        if not kv.take(need, now):
            kv.unpin(pinned, now)
            return None
        return pinned, tokens, need

    def admit_transferred(self, seq: Seq, reserved: tuple[list, int, int], first_token_s: float,
                          now: float) -> None:
        """Decode side: the prompt's KV arrived at ``first_token_s``; its first token is out.
        ``reserved`` is what ``reserve_transfer`` took; the sequence's blocks become this replica's."""
        seq.pinned, seq.shared_tokens, seq.held = reserved
        seq.computed = seq.target
        kv = self.kv
        if kv.prefix_cache and seq.hash_ids:   # the received prompt KV is cached here too
            ids, tokens, held = kv.donate(seq.hash_ids, len(seq.pinned), seq.hash_block_tokens,
                                          seq.computed - seq.shared_tokens, seq.held, now)
            seq.pinned.extend(ids)
            seq.shared_tokens += tokens
            seq.held = held
        seq.generated_tokens += 1
        seq.first_token_s = first_token_s
        self._admitted(seq, now, "decode")
        if seq.generated_tokens >= seq.output_tokens:
            self._finish(seq, now)
        else:
            self.decoding.add(seq)

    def _finish(self, seq: Seq, end: float) -> None:
        if seq.slot >= 0:
            self.decoding.remove(seq)
        self.kv.give_back(seq.held)
        seq.finish_s = end
        ttl = self._ttl(seq)
        self.kv.unpin(seq.pinned, end)
        if ttl > 0 and seq.pinned:
            # Continuum: protect the turn's KV until its session's next turn is due
            ids = list(seq.pinned)
            self.kv.protect(ids, end + ttl)
            self.ttl_pending += 1
            self.ttl_pinned_turns += 1

            def expire(now, ids=ids):
                self.ttl_pending -= 1
                self.kv.unprotect(ids, now)
            self.wake.after(ttl, expire)
        seq.held = 0
        seq.pinned = []
        seq.finish_s = end
        seq.status = "completed"
        # the result keeps scalars only: let the request's hash ids go
        seq.prefix_blocks = len(seq.hash_ids)
        seq.req = seq.hash_ids = seq.loaded_ids = None
        self.n_done += 1
        self.record(seq)
        if self.on_finish is not None:
            self.on_finish(seq)

    def _ttl(self, seq: Seq) -> float:
        """Seconds to keep a finished turn's prefix pinned (0: release now).

        ``auto`` pins until the session's next turn is due (its arrival plus the gap the
        workload gives): an oracle for Continuum's predicted tool-call duration."""
        if self.session_ttl is None or seq.req.session_id < 0 or seq.req.gap_s <= 0:
            return 0.0
        if self.session_ttl == "auto":
            return max(0.0, seq.arrival_s + float(seq.req.gap_s) - seq.finish_s)
        return float(self.session_ttl)

    def _preempt_newest(self, now: float) -> None:
        cands = self.prefilling + self.decoding.seqs
        seq = max(cands, key=lambda s: s.admit_order)
        if seq.slot >= 0:
            self.decoding.remove(seq)
        else:
            self.prefilling.remove(seq)
        self.kv.give_back(seq.held)
        self.kv.unpin(seq.pinned, now)
        seq.held = 0
        seq.pinned = []
        seq.shared_tokens = 0
        seq.computed = 0
        seq.target = seq.input_tokens + seq.generated_tokens
        seq.looked_up = False
        seq.loaded_tokens = 0
        seq.tokens_by_store = None
        seq.loaded_ids = ()
        seq.reserved_blocks = 0
        seq.preemptions += 1
        seq.status = "waiting"
        self.waiting.appendleft(seq)
