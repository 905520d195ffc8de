"""The compression-policy contract: what the engine and the token-level simulation call.

A compression policy decides which of a sequence's KV tokens are kept in HBM, in how
many bits, and which are fetched from DRAM each decode step.  It answers two callers.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..registry import declare_kind

__all__ = ["CompressionPolicy", "MODES"]

#: ``evict``: a shrinking subset of tokens stays resident at full precision;
#: ``quantize``: every token stays resident in fewer bytes; ``fetch``: the full KV lives
#: in DRAM and a per-step subset is fetched over the host link.
MODES = ("evict", "quantize", "fetch")


@runtime_checkable
class CompressionPolicy(Protocol):
    """Contract.

    Engine (``memsim.sim.engine`` via ``CostModel.apply_compression``), once per scenario:
        ``kv_bytes_per_token(model) -> float``: stored HBM bytes per context token, all
        layers, metadata included (``model`` is a ``memsim.workloads.model.ModelSpec``).
        ``hbm_read_fraction(model) -> float``: HBM bytes a decode step reads per context
        token, as a multiple of ``kv_bytes_per_token``.
        ``fetch_bytes_per_token(model) -> float``: host-link bytes per context token per
        decode step.

    Token level (``memsim.sim.compress.simulate``), once per sequence, in this order:
        ``start(prompt_tokens=, layers=, heads=, budget_tokens=, prefill=)``: a new sequence;
        ``budget_tokens`` is the per-layer-head token budget (int), ``prefill`` the
        ``(layers, heads, P)`` observation-window attention over the prompt.
        Then for each decode step t (context ``C = P + t`` tokens):
        ``plan(step, context_tokens) -> bool (layers, heads, C)``: the tokens this step
        attends (evict: resident; quantize: all; fetch: the predicted top-k to fetch).
        The policy may not look at step t's attention before answering.
        ``observe(step, probs)``: step t's attention ``(layers, heads, C)`` restricted to
        the planned tokens and renormalised (what the model computes); policies update
        their scores here.  Nothing else mutates policy state.
        ``step_bytes(model, planned, context_tokens) -> (resident, hbm_read, fetched)``:
        bytes for this sequence at this step (``planned`` is the plan's mask).
    ``mode`` (one of ``MODES``) tells the simulation how to account the plan; ``fetch``
    policies also expose ``fetch_unit`` (fraction of a token's full KV one fetch moves).
    """

    name: str
    mode: str

    def kv_bytes_per_token(self, model) -> float: ...

    def start(self, *, prompt_tokens: int, layers: int, heads: int, budget_tokens: int,
              prefill: np.ndarray) -> None: ...

    def plan(self, step: int, context_tokens: int) -> np.ndarray: ...

    def observe(self, step: int, probs: np.ndarray) -> None: ...

    def step_bytes(self, model, planned: np.ndarray, context_tokens: int) -> tuple[float, float, float]: ...


declare_kind("compression", CompressionPolicy)
