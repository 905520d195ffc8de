"""The work of one iteration, as the scheduler plans it."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IterationShape"]


@dataclass(frozen=True, slots=True)
class IterationShape:
    """The work of one iteration, in tokens.

    prefill_tokens: new prompt tokens computed this iteration (all chunks).
    prefill_pairs: sum over chunks of (query token, key token) pairs under the causal mask.
    prefill_kv_tokens: KV tokens the prefill chunks read (context + the chunk itself).
    decode_seqs: sequences decoding one token each.
    decode_kv_tokens: KV tokens those sequences read (each its whole context).
    prefill_last_tokens: prefill chunks that end a prompt (they need the LM head).
    prefill_chunks: ((cached context tokens, new tokens), ...) per prefill chunk, for
        per-chunk attention; empty means one chunk with the same causal work.
    """
    prefill_tokens: int = 0
    prefill_pairs: float = 0.0
    prefill_kv_tokens: int = 0
    decode_seqs: int = 0
    decode_kv_tokens: int = 0
    prefill_last_tokens: int = 0
    prefill_chunks: tuple = ()
