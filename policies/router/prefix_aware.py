"""Prefix aware: the replica holding most of the prompt's KV, balanced against load.

The score of candidate i is a weighted sum of three terms in [0, 1], as llm-d's
inference scheduler sums its scorers:

    score_i = prefix_weight * cached_prefix_tokens_i / input_tokens
            + queue_weight  * (q_max - q_i) / (q_max - q_min)     (1 when all q are equal)
            + kv_weight     * (1 - kv_blocks_used_i / kv_blocks_total_i)

with q the replicas' waiting queues.  Before scoring, SGLang's imbalance guard: when
the outstanding requests of the busiest and idlest candidates differ by more than
``balance_abs_threshold`` and the busiest has more than ``balance_rel_threshold``
times the idlest's, the request goes to the idlest (locality would only deepen the
imbalance).  Highest score wins; ties go to fewer outstanding requests, then to the
next replica after the previous choice.
"""
from __future__ import annotations

from memsim.ground.errors import check_nonnegative, check_positive

from ..registry import register
from ._common import argmax_rotating, argmin_rotating, kv_use_fraction

__all__ = ["PrefixAware"]


@register("router")
class PrefixAware:
    """Send a request where its longest prefix is cached, unless load says otherwise.

    Models: prefix-cache-aware routing: llm-d's inference scheduler (the weighted sum of its prefix-cache, queue and KV-cache-utilization scorers, default weights 3/2/2) with the imbalance guard of SGLang's cache-aware load-balancing router (sgl-router, from "SGLang: Efficient Execution of Structured Language Model Programs", NeurIPS 2024).
    Parameters:
        prefix_weight: weight of the cached fraction of the prompt (llm-d: 3).
        queue_weight: weight of the min-max normalised waiting queue (llm-d: 2).
        kv_weight: weight of the free fraction of KV blocks (llm-d: 2).
        balance_abs_threshold: outstanding-request gap (requests) above which, together
            with the relative test, load alone decides (SGLang: 32).
        balance_rel_threshold: ratio of busiest to idlest outstanding counts for the
            same test (SGLang: 1.0001).
    Differs from the paper: the cached prefix is read from each replica's real HBM
    cache (llm-d's precise, KV-event-driven mode), not guessed from routing history
    as SGLang's approximate radix tree does; SGLang's cache threshold and smallest-tree
    fallback are replaced by the weighted sum, whose KV term plays the same part for
    requests nobody has cached.
    """

    name = "prefix_aware"

    def __init__(self, *, prefix_weight: float = 3.0, queue_weight: float = 2.0, kv_weight: float = 2.0,
                 balance_abs_threshold: int = 32, balance_rel_threshold: float = 1.0001):
        self.prefix_weight = check_nonnegative("prefix_weight", prefix_weight)
        self.queue_weight = check_nonnegative("queue_weight", queue_weight)
        self.kv_weight = check_nonnegative("kv_weight", kv_weight)
        self.balance_abs_threshold = check_nonnegative("balance_abs_threshold", balance_abs_threshold)
        self.balance_rel_threshold = check_positive("balance_rel_threshold", balance_rel_threshold)
        self._next = 0
        #: routing decisions the imbalance guard made (load, not locality)
        self.guarded = 0

    def __repr__(self) -> str:
        return (f"PrefixAware(prefix_weight={self.prefix_weight}, queue_weight={self.queue_weight}, "
                f"kv_weight={self.kv_weight}, balance_abs_threshold={self.balance_abs_threshold}, "
                f"balance_rel_threshold={self.balance_rel_threshold})")

    def route(self, request, replicas, now_s: float) -> int:
        loads = [r.outstanding for r in replicas]
        lo, hi = min(loads), max(loads)
        if hi - lo > self.balance_abs_threshold and hi > self.balance_rel_threshold * lo:
            self.guarded += 1
            i = argmin_rotating(loads, self._next)
        else:
            i = argmax_rotating(self.scores(request, replicas, loads), self._next)
        self._next = i + 1
        return i

    def scores(self, request, replicas, loads=None) -> list[tuple[float, int]]:
        """(score, -outstanding) per candidate: what ``route`` maximises when load is balanced."""
        loads = loads if loads is not None else [r.outstanding for r in replicas]
        queues = [r.queue_length for r in replicas]
        qmin, qmax = min(queues), max(queues)
        span = qmax - qmin
        prompt = max(1, request.input_tokens)
        out = []
        for r, q, load in zip(replicas, queues, loads):
            s = self.prefix_weight * min(1.0, r.cached_prefix_tokens(request) / prompt) if self.prefix_weight else 0.0
            s += self.queue_weight * ((qmax - q) / span if span else 1.0)
            s += self.kv_weight * (1.0 - kv_use_fraction(r))
            out.append((s, -load))
        return out
