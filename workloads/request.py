"""A request: one prompt arriving at a time, with its lengths and prefix-block hashes.

Every workload reader and generator yields these, in nondecreasing ``arrival_s``
with ``request_id`` 0, 1, 2, ... in stream order.  Lengths are token counts; times
are seconds from the start of the stream.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Request"]


@dataclass(slots=True)
class Request:
    """One inference request.

    ``hash_ids`` are chained prefix-block hashes: block ``k`` covers tokens
    ``[k * hash_block_tokens, (k + 1) * hash_block_tokens)`` of the prompt (the last
    block may be partial), and two equal ids mean the whole prefix up to and
    including that block is the same.  ``None`` when the workload carries no
    prefix information (e.g. the Azure trace); ``hash_block_tokens`` is then 0.

    ``session_id``/``turn`` identify a multi-turn conversation (-1/0 when none);
    ``gap_s`` is the pause (user think time or tool call) after this turn before the
    session's next turn, 0 on a session's last turn and outside sessions.
    """

    request_id: int
    arrival_s: float
    input_tokens: int
    output_tokens: int
    hash_ids: tuple[int, ...] | None = None
    hash_block_tokens: int = 0
    session_id: int = -1
    turn: int = 0
    gap_s: float = 0.0
