"""Prefill/decode disaggregation: a prefilled prompt's KV moves to a decode replica over the network.

As in Splitwise ("Splitwise: Efficient Generative LLM Inference Using Phase Splitting"),
DistServe ("DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large
Language Model Serving") and Mooncake ("Mooncake: A KVCache-centric Disaggregated
Architecture for LLM Serving"):

1. A prefill replica ``p`` finishes a prompt (its blocks donated to ``p``'s prefix
   cache as usual) and calls ``on_prefilled``: the decode router picks ``d`` and the
   request joins ``d``'s inbound queue.  ``p`` keeps the prompt's blocks (back-pressure).
2. At the top of ``d``'s next serving step (never inside one of its closed-form runs,
   whose block budget was fixed when it started), ``d`` pins the prompt prefix it
   already caches (``h`` tokens; it caches every prompt it receives) and takes blocks
   for the rest; then
   ``kv_bytes_per_token x (input_tokens - h)`` bytes leave over ``kv_path(p, d)``,
   sharing every NIC/NVLink channel with the other transfers in flight.  If ``d``
   lacks the blocks, the request waits, its KV held on ``p`` (``kv_held_s``).
3. When the last byte is in, ``p`` releases the sequence's blocks (its donated prefix
   stays cached there) and ``d`` adds it to its decode batch at its next step; the
   first token counts as produced at that moment, so TTFT includes the transfer.

``kv_transfer: {mode: layerwise}`` starts the move when the iteration holding the
prompt's last chunk starts (Mooncake and DistServe stream KV layer by layer): once ``d``
has the blocks, the layers still to compute stream out as they are done
(``ClusterNetwork.send_layerwise``), so the transfer overlaps that iteration.
"""
from __future__ import annotations

from collections import deque

__all__ = ["Handoff"]



class _Move:
    __slots__ = ("seq", "src", "dst", "ready_s", "sent_s", "nbytes", "p_held", "p_pinned", "blocked_s",
                 "compute_end_s", "prefilled", "landed_s", "reserved")

    def __init__(self, seq, src, dst, ready_s, compute_end_s=None):
        self.seq, self.src, self.dst, self.ready_s = seq, src, dst, ready_s
        self.sent_s = float("nan")
        self.blocked_s = float("nan")   # when the decode replica first lacked the blocks
        self.nbytes = 0.0
        # layer-wise: when the prompt's last layer is computed (None: it already is)
        self.compute_end_s = compute_end_s
        self.prefilled = compute_end_s is None
        self.landed_s = None            # layer-wise: the bytes were in before the prompt's bookkeeping
        self.reserved = None            # what the decode replica pinned and took (reserve_transfer)
        # the prefill replica's blocks, given back when the KV has arrived (final once prefilled)
        self.p_held, self.p_pinned = (seq.held, list(seq.pinned)) if self.prefilled else (0, [])


class Handoff:
    """The P/D handoffs of one cluster: per decode replica, moves waiting for blocks and moves arrived."""

    def __init__(self, cluster, stage, network, mode: str):
        self.cluster, self.stage, self.net = cluster, stage, network
        self.layerwise = mode == "layerwise"
        self.waiting: dict[int, deque] = {r.index: deque() for r in stage.candidates}
        self.arrived: dict[int, list] = {r.index: [] for r in stage.candidates}
        self.in_flight: set = set()
        self.transfers = 0
        self.bytes = 0.0
        for rep in cluster.replicas:
            if rep.role == "prefill":
                rep.sched.on_prefilled = (lambda seq, now, rep=rep: self.start(rep, seq, now))
                if self.layerwise:
                    rep.sched.on_iteration = (lambda chunks, now, dur, rep=rep: self.iteration(rep, chunks, now, dur))

    def iteration(self, src, chunks, now: float, dur: float) -> None:
        """Layer-wise: an iteration holding prompts' last chunks starts; their KV streams out with it."""
        for seq, c in chunks:
            if seq.computed + c == seq.target and seq.output_tokens > 1 and seq.handoff is None:
                self._queue(_Move(seq, src, self.stage.pick(seq.req, now), now, compute_end_s=now + dur))

    def start(self, src, seq, now: float) -> bool:
        """``src`` finished ``seq``'s prompt: route it to a decode replica and queue it there."""
        mv = seq.handoff
        if mv is not None:    # layer-wise: already on its way; the prompt's blocks are final now
            mv.prefilled = True
            mv.p_held, mv.p_pinned = seq.held, list(seq.pinned)
            seq.status = "transferring"
            if mv.landed_s is not None:
                self._landed(mv)
            else:
                mv.dst.wake()   # a move it could not reserve for may be decided now
            return True
        self._queue(_Move(seq, src, self.stage.pick(seq.req, now), now))
        return True

    def _queue(self, mv: _Move) -> None:
        seq, src, dst = mv.seq, mv.src, mv.dst
        seq.handoff = mv
        seq.decode_replica = dst.index
        if mv.prefilled:
            seq.status = "transferring"
        src.sched.handoffs += 1      # its blocks will come back: an outside event for src
        dst.sched.handoffs += 1      # a sequence will join its batch: an outside event for dst
        dst.inbound += 1
        dst.routed += 1
        self.waiting[dst.index].append(mv)
        dst.wake()

    def admit(self, dst, now: float) -> None:
        """At ``dst``'s step: take in arrived KV, then reserve blocks for waiting moves, FCFS."""
        arrived = self.arrived[dst.index]
        if arrived:
            self.arrived[dst.index] = []
            for mv, at in arrived:
                dst.inbound -= 1
                dst.sched.handoffs -= 1
                dst.sched.admit_transferred(mv.seq, mv.reserved, at, now)
        q = self.waiting[dst.index]
        while q:
            mv = q[0]
            seq = mv.seq
            need = dst.kv.blocks_for(seq.input_tokens + seq.output_tokens)
            if need > dst.kv.total_blocks and mv.prefilled:   # could never decode there (a smaller GPU)
                q.popleft()
                self._reject(mv, now, f"needs {need} KV blocks on decode replica {dst.index}; it holds "
                                      f"{dst.kv.total_blocks}")
                continue
            got = dst.sched.reserve_transfer(seq, now) if need <= dst.kv.total_blocks else None
            if got is None:
                if mv.blocked_s != mv.blocked_s:
                    mv.blocked_s = now
                return   # decode-side memory pressure: the KV stays on the prefill replica
            q.popleft()
            mv.reserved = got
            self._send(mv, got[1], now)

    def _send(self, mv: _Move, h: int, now: float) -> None:
        seq, src, dst = mv.seq, mv.src, mv.dst
        mv.sent_s = now
        mv.nbytes = src.parts.cost.kv_bytes_per_token * (seq.input_tokens - h)
        seq.kv_held_s = 0.0 if mv.blocked_s != mv.blocked_s else now - mv.blocked_s
        seq.kv_transfer_bytes = mv.nbytes
        self.in_flight.add(mv)
        self.transfers += 1
        self.bytes += mv.nbytes
        path = self.net.kv_path(src.index, dst.index)
        if not mv.prefilled:
            # the layers still to compute stream out as they are done
            ev = self.net.send_layerwise(mv.nbytes, path, compute_s=max(0.0, mv.compute_end_s - now),
                                         layers=src.parts.model.layers, tag="kv", meta={"seq": seq})
        else:
            ev = self.net.send(mv.nbytes, path, tag="kv", meta={"seq": seq})
        ev.callbacks.append(lambda _e, mv=mv: self._landed(mv))

    def _landed(self, mv: _Move) -> None:
        now = self.cluster.env.now
        if not mv.prefilled:   # the prefill replica books the prompt's end later at this same instant
            mv.landed_s = now
            return
        at = now if mv.landed_s is None else mv.landed_s
        self.in_flight.discard(mv)
        seq, dst = mv.seq, mv.dst
        seq.kv_transfer_s = at - mv.sent_s
        self._release(mv, now)
        self.arrived[dst.index].append((mv, at))
        dst.wake()

    def _release(self, mv: _Move, now: float) -> None:
        """The prefill replica gives back the sequence's blocks; its cached prefix stays there."""
        src = mv.src
        src.kv.give_back(mv.p_held)
        src.kv.unpin(mv.p_pinned, now)
        mv.p_held, mv.p_pinned = 0, []
        src.sched.handoffs -= 1
        src.left += 1
        src.wake()

    def _reject(self, mv: _Move, now: float, reason: str) -> None:
        seq, dst = mv.seq, mv.dst
        self._release(mv, now)
        dst.inbound -= 1
        dst.sched.handoffs -= 1
        seq.status, seq.reason = "rejected", reason
        dst.sched.n_done += 1
        dst.sched.record(seq)

    def none_to_come(self, dst) -> bool:
        """No request can reach ``dst`` any more: every prefill loop ended and nothing is on its way."""
        return dst.inbound == 0 and all(r.loop.end_s is not None for r in self.stage_sources())

    def stage_sources(self):
        return [r for r in self.cluster.replicas if r.role == "prefill"]

    def finish(self, end: float) -> None:
        """Moves not finished when the run ended are recorded as unfinished requests."""
        for q in self.waiting.values():
            for mv in q:
                self._unfinished(mv)
        for mv in list(self.in_flight):
            self._unfinished(mv)
        for arrived in self.arrived.values():
            for mv, _ in arrived:
                self._unfinished(mv)

    def _unfinished(self, mv: _Move) -> None:
        seq = mv.seq
        seq.status = "unfinished"
        mv.dst.recorder.request(seq)
