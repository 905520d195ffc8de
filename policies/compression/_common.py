"""Shared machinery for compression policies: resident masks, top-k keeping, byte formulas.

``Evicting`` holds a shrinking per-layer-head resident set; ``Fetching`` predicts a
per-step top-k from DRAM.  ``quantized_bytes_per_token`` is the KIVI-style byte
arithmetic (data plus fp16 scale and zero point per group) shared by every low-bit format.
"""
from __future__ import annotations

import numpy as np

from memsim.ground.errors import ConfigError, check_positive

__all__ = ["Evicting", "Fetching", "quantized_bytes_per_token", "check_fraction_param",
           "layer_uncertainty_budgets"]

_META_BYTES = 4   # fp16 scale + fp16 zero point per quantization group


def check_fraction_param(name: str, value, *, allow_zero: bool = False):
    if value is None:
        return None
    v = float(value)
    lo_ok = v >= 0 if allow_zero else v > 0
    if not (lo_ok and v <= 1):
        raise ConfigError(f"{name}={value!r} must be in {'[0' if allow_zero else '(0'}, 1]")
    return v


def quantized_bytes_per_token(model, bits: int, group_size: int) -> float:
    """Bytes per token (all layers, K and V) of a ``bits``-bit cache with asymmetric groups.

    Keys are grouped per channel over ``group_size`` tokens and values per token over
    ``group_size`` channels (KIVI); either way each group of ``group_size`` numbers carries
    one fp16 scale and one fp16 zero point, so per token and head each of K and V costs
    ``head_dim * bits / 8 + head_dim * 4 / group_size`` bytes.
    """
    per_head = model.head_dim * bits / 8 + model.head_dim * _META_BYTES / group_size
    return 2.0 * model.layers * model.kv_heads * per_head


def layer_uncertainty_budgets(prefill: np.ndarray, budget_tokens: int, *, mass: float = 0.9,
                              min_fraction: float = 0.25) -> np.ndarray:
    """ZigZagKV-style per-layer budgets summing to ``layers * budget_tokens``.

    Each layer's need is the mean over heads of the tokens its prefill attention needs to
    cover ``mass`` of the attention; budgets are proportional to need, with a floor of
    ``min_fraction * budget_tokens`` and a ceiling of the prompt length.
    """
    L, H, P = prefill.shape
    srt = -np.sort(-prefill, axis=-1)
    need = (np.cumsum(srt, axis=-1) < mass).sum(axis=-1) + 1          # (L, H)
    need = need.mean(axis=1)
    total = L * budget_tokens
    floor = max(1, int(min_fraction * budget_tokens))
    share = need / need.sum() if need.sum() > 0 else np.full(L, 1.0 / L)
    b = np.maximum(floor, np.floor(share * total)).astype(np.int64)
    b = np.minimum(b, max(P, budget_tokens))
    # Hand leftover (or excess) tokens out one at a time, largest need first, to keep the sum.
    order = np.argsort(-need, kind="stable")
    i = 0
    while b.sum() != total and i < 10 * L * max(1, total):
        j = order[i % L]
        if b.sum() < total and b[j] < max(P, budget_tokens):
            b[j] += 1
        elif b.sum() > total and b[j] > floor:
            b[j] -= 1
        i += 1
    return b


class Evicting:
    """A resident set per (layer, head) that only shrinks, except by newly generated tokens.

    Subclasses implement ``_scores(step, C) -> (score, protected)``: higher score = keep,
    ``protected`` tokens are always kept; ``_observe(step, probs)`` updates their state.
    ``budget_fraction`` (engine only): stored bytes per token = full x fraction, a stand-in
    for a cache capped at that fraction of each sequence's context.
    """

    mode = "evict"

    def _init_engine(self, budget_fraction):
        self.budget_fraction = check_fraction_param("budget_fraction", budget_fraction)

    # ---- engine -------------------------------------------------------------
    def kv_bytes_per_token(self, model) -> float:
        f = 1.0 if self.budget_fraction is None else self.budget_fraction
        return float(model.kv_bytes_per_token) * f

    def hbm_read_fraction(self, model) -> float:
        return 1.0

    def fetch_bytes_per_token(self, model) -> float:
        return 0.0

    # ---- token level --------------------------------------------------------
    def start(self, *, prompt_tokens: int, layers: int, heads: int, budget_tokens: int,
              prefill: np.ndarray) -> None:
        check_positive("budget_tokens", budget_tokens)
        self.L, self.H, self.P = layers, heads, prompt_tokens
        self.prefill = np.asarray(prefill, dtype=np.float64)
        self.budgets = self._allocate(self.prefill, int(budget_tokens))
        self.resident = np.ones((layers, heads, prompt_tokens), dtype=bool)
        self._start()

    def _allocate(self, prefill, budget_tokens: int) -> np.ndarray:
        return np.full(prefill.shape[0], budget_tokens, dtype=np.int64)

    def _start(self) -> None:
        pass

    def _grow(self, C: int) -> None:
        n = self.resident.shape[-1]
        if n < C:
            self.resident = np.concatenate(
                [self.resident, np.ones((self.L, self.H, C - n), dtype=bool)], axis=-1)
            self._grown(n, C)

    def _grown(self, old: int, new: int) -> None:
        pass

    def _over(self) -> bool:
        return bool(np.any(self.resident.sum(-1) > self.budgets[:, None]))

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        self._grow(context_tokens)
        if self._over() and self._should_evict(step):
            score, protect = self._scores(step, context_tokens)
            self._keep_top(score, protect, self._target())
        return self.resident.copy()

    def _should_evict(self, step: int) -> bool:
        return True

    def _target(self) -> np.ndarray:
        return self.budgets

    def _keep_top(self, score: np.ndarray, protect: np.ndarray, budgets: np.ndarray) -> None:
        s = np.where(self.resident, score, -np.inf)
        s = np.where(protect & self.resident, np.inf, s)
        order = np.argsort(-s, axis=-1, kind="stable")
        keep = np.zeros_like(self.resident)
        for li in range(self.L):
            b = int(budgets[li])
            np.put_along_axis(keep[li], order[li, :, :b], True, axis=-1)
        self.resident &= keep

    def observe(self, step: int, probs: np.ndarray) -> None:
        self._observe(step, probs)

    def _observe(self, step: int, probs: np.ndarray) -> None:
        pass

    def step_bytes(self, model, planned: np.ndarray, context_tokens: int):
        u = float(model.kv_bytes_per_token) / (planned.shape[0] * planned.shape[1])
        n = float(planned.sum()) * u
        return n, n, 0.0

    #: tokens a plan may hold above the budget (lagged eviction); 0 = strict
    slack_tokens = 0

    def check(self) -> None:
        """The resident set never exceeds budget + slack per layer-head."""
        assert self.resident.shape[:2] == (self.L, self.H)
        assert np.all(self.resident.sum(-1) <= self.budgets[:, None] + self.slack_tokens)


class Fetching:
    """Full KV in DRAM; a predicted top-k per layer-head is fetched each decode step.

    Subclasses implement ``_predict(step, C) -> score (L, H, C)`` from ``self._peek``
    (the speculation input the simulation hands over before planning) and their own
    ``kv_bytes_per_token`` (what stays in HBM for speculation) and ``fetch_unit``.
    """

    mode = "fetch"
    fetch_unit = 1.0

    def _init_engine(self, top_k_fraction, prediction_accuracy):
        self.top_k_fraction = check_fraction_param("top_k_fraction", top_k_fraction)
        self.prediction_accuracy = check_fraction_param("prediction_accuracy", prediction_accuracy,
                                                        allow_zero=True)

    # ---- engine -------------------------------------------------------------
    def fetch_bytes_per_token(self, model) -> float:
        """Prefetched top-k plus, for the mispredicted share, a blocking re-fetch."""
        miss = 1.0 - self.prediction_accuracy
        return self.top_k_fraction * self.fetch_unit * float(model.kv_bytes_per_token) * (1.0 + miss)

    def hbm_read_fraction(self, model) -> float:
        """Reads the resident speculation state plus the fetched tokens staged in HBM."""
        resident = self.kv_bytes_per_token(model)
        return (resident + self.fetch_bytes_per_token(model)) / resident

    # ---- token level --------------------------------------------------------
    def start(self, *, prompt_tokens: int, layers: int, heads: int, budget_tokens: int,
              prefill: np.ndarray) -> None:
        self.k = int(check_positive("budget_tokens", budget_tokens))
        self.L, self.H, self.P = layers, heads, prompt_tokens
        self._peek = None
        self._last = None

    def peek(self, step: int, probs: np.ndarray, rng: np.random.Generator) -> None:
        """Speculation input: step t's full attention, which each policy degrades its own way."""
        self._peek = probs
        self._rng = rng

    def plan(self, step: int, context_tokens: int) -> np.ndarray:
        score = self._predict(step, context_tokens)
        k = min(self.k, context_tokens)
        order = np.argsort(-score, axis=-1, kind="stable")[..., :k]
        mask = np.zeros((self.L, self.H, context_tokens), dtype=bool)
        np.put_along_axis(mask, order, True, axis=-1)
        return mask

    def observe(self, step: int, probs: np.ndarray) -> None:
        self._last = probs

    def step_bytes(self, model, planned: np.ndarray, context_tokens: int):
        u = float(model.kv_bytes_per_token) / (planned.shape[0] * planned.shape[1])
        fetched = float(planned.sum()) * u * self.fetch_unit
        resident = self.kv_bytes_per_token(model) * context_tokens
        return resident, resident + fetched, fetched
