"""One request as the scheduler sees it: its prompt, its progress, and what it found cached.

Attributes named like a request-table column (``sim/tables.py``) are that column: the
recorder reads them by name when the request leaves the system.
"""
from __future__ import annotations

import math

__all__ = ["Seq"]


def _aligned(ids, hb: int, block_tokens: int):
    """Prefix-hash blocks regrouped so each group spans whole KV blocks, as vLLM hashes per
    KV block: hash blocks of 16 tokens under 32-token KV blocks pair up, keyed by the
    group's last (chained) id.  Unchanged when hb is already a multiple of block_tokens."""
    if not ids or not hb or not block_tokens or hb % block_tokens == 0:
        return tuple(ids), hb
    g = math.lcm(hb, block_tokens) // hb
    n = len(ids)
    return tuple(ids[min(n, (j + 1) * g) - 1] for j in range(-(-n // g))), hb * g


class Seq:
    """One request as the scheduler sees it."""

    # attributes named like a request-table column are that column (sim/tables.py)
    __slots__ = ("req", "request_id", "arrival_s", "input_tokens", "output_tokens", "hash_ids", "hb",
                 "target", "computed", "shared_tokens", "pinned", "held", "generated_tokens",
                 "scheduled_s", "first_token_s", "finish_s", "preemptions", "prefix_hit_tokens",
                 "prefix_hit_blocks", "admit_order", "slot", "status", "reason", "looked_up",
                 "found_blocks", "loaded_tokens", "tokens_by_store", "loaded_ids", "ready_s",
                 "reserved_blocks", "regrows", "prefix_blocks",
                 # cluster runs only (sim/cluster): where it ran and its prefill-to-decode handoff
                 "replica", "decode_replica", "kv_transfer_bytes", "kv_transfer_s", "kv_held_s", "handoff")

    def __init__(self, req, block_tokens: int = 0, replica: int = 0):
        self.req = req
        self.request_id = req.request_id
        self.arrival_s = req.arrival_s
        self.input_tokens = req.input_tokens
        self.output_tokens = req.output_tokens
        self.hash_ids, self.hb = _aligned(req.hash_ids or (), req.hash_block_tokens, block_tokens)
        self.target = req.input_tokens          # tokens whose KV must exist before decoding
        self.computed = 0
        self.shared_tokens = 0
        self.pinned: list[int] = []
        self.held = 0
        self.generated_tokens = 0
        self.scheduled_s = float("nan")
        self.first_token_s = float("nan")
        self.finish_s = float("nan")
        self.preemptions = 0
        self.prefix_hit_tokens = 0
        self.prefix_hit_blocks = 0
        self.admit_order = -1
        self.slot = -1
        self.status = "waiting"
        self.reason = ""
        self.looked_up = False
        self.found_blocks = 0      # consecutive prefix blocks cached in any tier at admission
        self.loaded_tokens = 0     # tokens loaded from lower tiers
        self.replica = replica
        self.decode_replica = -1
        self.kv_transfer_bytes = 0.0
        self.kv_transfer_s = float("nan")
        self.kv_held_s = 0.0
        self.handoff = None        # the P/D handoff in progress (sim/cluster/handoff.py)
        self.tokens_by_store = None
        self.loaded_ids = ()
        self.ready_s = float("nan")
        self.reserved_blocks = 0   # blocks held up front by the allocation policy
        self.regrows = 0           # times the reservation was outgrown and enlarged
        self.prefix_blocks = len(self.hash_ids)

    def hash_block_tokens(self, i: int) -> int:
        return min(self.hb, self.input_tokens - i * self.hb)

    @property
    def load_s(self) -> float:
        """From admission until its lower-tier KV arrived (0 without loads)."""
        ready = self.ready_s
        return 0.0 if ready != ready else ready - self.scheduled_s

    @property
    def prefill_s(self) -> float:
        """From the end of its load (or its admission) to its first token."""
        ready = self.ready_s
        return self.first_token_s - (self.scheduled_s if ready != ready else ready)
