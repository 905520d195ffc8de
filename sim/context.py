"""The model's context window: prompts that do not fit are rejected or truncated, output is capped.

A sequence never holds more than ``max_context`` tokens (prompt + generated), the
model's ``max_position_embeddings`` unless the scenario lowers it.  A prompt of
``max_context`` tokens or more leaves no room for an output token: ``over_limit:
reject`` drops the request at arrival (counted, with the reason), ``truncate`` keeps
its first ``max_context - 1`` tokens (the prefix, so its prefix-block hashes stay
valid).  Every admitted request's output is capped at ``max_context - prompt``,
which is where generation stops.  ``fit_context`` decides for arrays of requests.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
from pydantic import Field

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel

__all__ = ["ContextConfig", "ContextFit", "ContextWindow", "fit_context", "REJECT_REASON"]

REJECT_REASON = "prompt_exceeds_context"
"""The reason a rejected request carries in the request table."""


class ContextConfig(StrictModel):
    """The ``context:`` section of a serve scenario."""

    over_limit: Literal["reject", "truncate"] = Field(
        "reject", description="a prompt that leaves no room for output: reject it, or keep its first "
                              "max_context - 1 tokens")
    max_context: Optional[int] = Field(None, ge=2, description="tokens per sequence (default: the model's)")


@dataclass(frozen=True)
class ContextFit:
    """The decision for each request (arrays in request order)."""

    admitted: np.ndarray            # bool
    input_tokens: np.ndarray        # after truncation
    output_tokens: np.ndarray       # after the cap (0 for a rejected request)
    truncated: np.ndarray           # bool: the prompt was cut
    capped: np.ndarray              # bool: the output was cut

    @property
    def rejected(self) -> int:
        return int((~self.admitted).sum())

    def counts(self) -> dict[str, int]:
        """The summary numbers: requests rejected, prompts truncated, outputs capped."""
        return {"context_rejected": self.rejected, "context_truncated": int(self.truncated.sum()),
                "context_output_capped": int(self.capped.sum())}


def fit_context(input_tokens, output_tokens, *, max_context: int,
                over_limit: str = "reject") -> ContextFit:
    """Apply the window to requests with these prompt and output lengths (tokens, >= 1)."""
    if isinstance(max_context, bool) or not isinstance(max_context, (int, np.integer)) or max_context < 2:
        raise ConfigError(f"max_context={max_context!r} must be an int >= 2", field="context.max_context")
    if over_limit not in ("reject", "truncate"):
        raise ConfigError(f"over_limit={over_limit!r} must be reject or truncate", field="context.over_limit")
    inp = np.asarray(input_tokens, dtype=np.int64)
    out = np.asarray(output_tokens, dtype=np.int64)
    if inp.shape != out.shape:
        raise ConfigError(f"{inp.shape} prompts for {out.shape} outputs", field="output_tokens")
    too_long = inp >= max_context
    if over_limit == "reject":
        admitted = ~too_long
        truncated = np.zeros_like(too_long)
        inp2 = inp.copy()
    else:
        admitted = np.ones_like(too_long)
        truncated = too_long
        inp2 = np.minimum(inp, max_context - 1)
    room = max_context - inp2
    out2 = np.where(admitted, np.minimum(out, room), 0)
    capped = admitted & (out > room)
    return ContextFit(admitted=admitted, input_tokens=inp2, output_tokens=out2, truncated=truncated,
                      capped=capped)


class ContextWindow:
    """The serving engine's gate: ``admit(req)`` applies the window to one arriving request.

    Returns ``(request, None)`` with the request as it will run (a copy when truncated or
    capped, so a workload's own objects are never changed), or ``(None, reason)`` for a
    rejected one.  ``counts`` are the summary's ``context_*`` counters.  Requests inside
    the window pass untouched on a scalar test; only the rare ones go through
    ``fit_context``, so the decision is made in one place.
    """

    def __init__(self, *, max_context: int, over_limit: str = "reject"):
        fit_context([1], [1], max_context=max_context, over_limit=over_limit)   # checks both
        self.max_context, self.over_limit = int(max_context), over_limit
        self.counts = {"context_rejected": 0, "context_truncated": 0, "context_output_capped": 0}

    def admit(self, req):
        m = self.max_context
        if req.input_tokens < m and req.input_tokens + req.output_tokens <= m:
            return req, None
        fit = fit_context([req.input_tokens], [req.output_tokens], max_context=m,
                          over_limit=self.over_limit)
        if not fit.admitted[0]:
            self.counts["context_rejected"] += 1
            return None, f"{REJECT_REASON}: {req.input_tokens} >= max_context {m}"
        changes = {"output_tokens": int(fit.output_tokens[0])}
        if fit.truncated[0]:
            self.counts["context_truncated"] += 1
            n = int(fit.input_tokens[0])
            changes["input_tokens"] = n
            hb = req.hash_block_tokens
            if req.hash_ids and hb:
                changes["hash_ids"] = tuple(req.hash_ids[: -(-n // hb)])   # the kept prefix's blocks
        if fit.capped[0]:
            self.counts["context_output_capped"] += 1
        return dataclasses.replace(req, **changes), None
