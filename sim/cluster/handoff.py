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
"""
from __future__ import annotations

from collections import deque

__all__ = ["Handoff"]


class _Move:
    __slots__ = ("seq", "src", "dst", "ready_s", "sent_s", "nbytes", "p_held", "p_pinned", "blocked_s")

    def __init__(self, seq, src, dst, ready_s):
        self.seq, self.src, self.dst, self.ready_s = seq, src, dst, ready_s
        self.sent_s = float("nan")
        self.blocked_s = float("nan")   # when the decode replica first lacked the blocks
        self.nbytes = 0.0
        # the prefill replica's blocks, given back when the KV has arrived
        self.p_held, self.p_pinned = seq.held, list(seq.pinned)


class Handoff:
    """The P/D handoffs of one cluster: per decode replica, moves waiting for blocks and moves arrived."""

    def __init__(self, cluster, stage, network, mode: str):
        if mode != "after_prefill":
            from memsim.ground.errors import ConfigError
            raise ConfigError(f"{mode!r}: only after_prefill transfers are modelled in the engine so far",
                              file=cluster.scenario.source_file, field="cluster.kv_transfer.mode")
        self.cluster, self.stage, self.net = cluster, stage, network
        self.waiting: dict[int, deque] = {r.index: deque() for r in stage.candidates}
        self.arrived: dict[int, list] = {r.index: [] for r in stage.candidates}
        self.in_flight: set = set()
        self.transfers = 0
        self.bytes = 0.0
        for rep in cluster.replicas:
            if rep.role == "prefill":
                rep.sched.on_prefilled = (lambda seq, now, rep=rep: self.start(rep, seq, now))

    def start(self, src, seq, now: float) -> bool:
        """``src`` finished ``seq``'s prompt: route it to a decode replica and queue it there."""
        dst = self.stage.pick(seq.req, now)
        mv = _Move(seq, src, dst, now)
        seq.handoff = mv
        seq.decode_replica = dst.index
        seq.status = "transferring"
        src.sched.handoffs += 1      # its blocks will come back: an outside event for src
        dst.sched.handoffs += 1      # a sequence will join its batch: an outside event for dst
        dst.inbound += 1
        dst.routed += 1
        self.waiting[dst.index].append(mv)
        dst.wake()
        return True

    def admit(self, dst, now: float) -> None:
        """At ``dst``'s step: take in arrived KV, then reserve blocks for waiting moves, FCFS."""
        arrived = self.arrived[dst.index]
        if arrived:
            self.arrived[dst.index] = []
            for mv, at in arrived:
                dst.inbound -= 1
                dst.sched.handoffs -= 1
                dst.sched.admit_transferred(mv.seq, at, now)
        q = self.waiting[dst.index]
        while q:
            mv = q[0]
            seq = mv.seq
            need = dst.kv.blocks_for(seq.input_tokens + seq.output_tokens)
            if need > dst.kv.total_blocks:   # could never decode there (a smaller decode GPU)
                q.popleft()
                self._reject(mv, now, f"needs {need} KV blocks on decode replica {dst.index}; it holds "
                                      f"{dst.kv.total_blocks}")
                continue
            # the prefill side's block state is in mv; reserve_transfer gives seq dst's
            h = dst.sched.reserve_transfer(seq, now)
            if h is None:
                if mv.blocked_s != mv.blocked_s:
                    mv.blocked_s = now
                return   # decode-side memory pressure: the KV stays on the prefill replica
            q.popleft()
            self._send(mv, h, now)

    def _send(self, mv: _Move, h: int, now: float) -> None:
        seq, src, dst = mv.seq, mv.src, mv.dst
        mv.sent_s = now
        mv.nbytes = src.parts.cost.kv_bytes_per_token * (seq.input_tokens - h)
        seq.kv_held_s = 0.0 if mv.blocked_s != mv.blocked_s else now - mv.blocked_s
        seq.kv_transfer_bytes = mv.nbytes
        self.in_flight.add(mv)
        self.transfers += 1
        self.bytes += mv.nbytes
        ev = self.net.send(mv.nbytes, self.net.kv_path(src.index, dst.index), tag="kv", meta={"seq": seq})
        ev.callbacks.append(lambda _e, mv=mv: self._landed(mv))

    def _landed(self, mv: _Move) -> None:
        now = self.cluster.env.now
        self.in_flight.discard(mv)
        seq, dst = mv.seq, mv.dst
        seq.kv_transfer_s = now - mv.sent_s
        self._release(mv, now)
        self.arrived[dst.index].append((mv, now))
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
