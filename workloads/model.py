"""A transformer's shape, and the bytes and FLOPs that follow from it.

``ModelSpec`` mirrors one ``workloads/models/*.yaml`` file (the fields of the model's
Hugging Face ``config.json``, which ``load_model`` also reads directly); weight bytes, KV bytes per token and FLOPs per token
are derived here, in one place, so the engine and the tests agree on them.

    >>> m = load_model("llama-3.1-8b")
    >>> m.kv_bytes_per_token          # 2 * 32 layers * 8 KV heads * 128 * 2 B
    131072
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from memsim.ground import catalogue
from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel, load_yaml, validate_located

from .hf_config import hf_config_to_spec, read_hf_config

__all__ = ["ModelSpec", "MoE", "load_model", "list_models", "model_path", "MODELS_DIR",
           "DTYPE_BYTES"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Where the shipped catalogue lives."""

DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}
WeightDType = Literal["fp32", "bf16", "fp16", "fp8", "int8"]
Positive = Field(ge=1)


class MoE(StrictModel):
    """Mixture of experts: each layer's FFN is ``experts`` FFNs; a token uses ``active_experts``."""

    experts: int = Field(ge=2)
    active_experts: int = Field(ge=1)


class ModelSpec(StrictModel):
    """A decoder-only transformer.  Counts are plain ints (layers, heads, dimensions)."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._\-]*$")
    description: str = ""
    layers: int = Positive
    hidden: int = Positive
    heads: int = Positive
    kv_heads: int = Positive
    head_dim: int = Positive
    ffn: int = Positive
    vocab: int = Positive
    max_context: int = Positive
    dtype: WeightDType
    kv_dtype: WeightDType | None = None
    gated_ffn: bool
    tie_embeddings: bool
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    qkv_bias: bool = False
    linear_bias: bool = False
    learned_positions: int = Field(default=0, ge=0)
    sliding_window: int | None = Field(default=None, ge=1)
    moe: MoE | None = None
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        if self.heads % self.kv_heads:
            raise ConfigError(f"heads={self.heads} is not a multiple of kv_heads={self.kv_heads}",
                              field="kv_heads")
        if self.moe and self.moe.active_experts > self.moe.experts:
            raise ConfigError(f"active_experts={self.moe.active_experts} exceeds "
                              f"experts={self.moe.experts}", field="moe.active_experts")
        return self

    # ---- sizes ------------------------------------------------------------------
    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def kv_dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.kv_dtype or self.dtype]

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V of one token over all layers: ``2 * layers * kv_heads * head_dim * bytes``."""
        return 2 * self.layers * self.kv_heads * self.head_dim * self.kv_dtype_bytes

    def _attn_weights(self) -> int:
        q = self.heads * self.head_dim
        kv = self.kv_heads * self.head_dim
        return self.hidden * (q + 2 * kv) + q * self.hidden

    def _attn_biases(self) -> int:
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        out = (q + 2 * kv) if (self.qkv_bias or self.linear_bias) else 0
        return out + (self.hidden if self.linear_bias else 0)

    def _expert_params(self) -> int:
        """One FFN (one expert) of one layer, with its biases."""
        mats = 3 if self.gated_ffn else 2
        bias = (self.ffn * (mats - 1) + self.hidden) if self.linear_bias else 0
        return mats * self.hidden * self.ffn + bias

    def _norm_params(self) -> int:
        per = 2 if self.norm == "layernorm" else 1          # weight (+ bias)
        return per * self.hidden * (2 * self.layers + 1)   # two per layer + final

    @property
    def n_experts(self) -> int:
        return self.moe.experts if self.moe else 1

    @property
    def n_active_experts(self) -> int:
        return self.moe.active_experts if self.moe else 1

    def _params(self, experts: int) -> int:
        router = self.hidden * self.moe.experts if self.moe else 0
        per_layer = self._attn_weights() + self._attn_biases() + router \
            + experts * self._expert_params()
        embed = self.vocab * self.hidden
        head = 0 if self.tie_embeddings else self.vocab * self.hidden
        pos = self.learned_positions * self.hidden
        return self.layers * per_layer + embed + head + pos + self._norm_params()

    @property
    def params_total(self) -> int:
        """Every parameter, embeddings and norms included."""
        return self._params(self.n_experts)

    @property
    def params_active(self) -> int:
        """Parameters one token uses (MoE: only its ``active_experts`` experts)."""
        return self._params(self.n_active_experts)

    @property
    def weight_bytes(self) -> int:
        return self.params_total * self.dtype_bytes

    @property
    def expert_bytes(self) -> int:
        """Bytes of one expert across all layers (MoE only; 0 for a dense model)."""
        return self.layers * self._expert_params() * self.dtype_bytes if self.moe else 0

    @property
    def dense_bytes(self) -> int:
        """Bytes of the weights every token reads: all but the experts (= weight_bytes if dense)."""
        return self.weight_bytes - self.n_experts * self.expert_bytes

    @property
    def active_weight_bytes(self) -> int:
        """Bytes one token reads: ``dense_bytes`` plus its active experts."""
        return self.dense_bytes + self.n_active_experts * self.expert_bytes

    # ---- FLOPs --------------------------------------------------------------------
    @property
    def linear_flops_per_token(self) -> int:
        """2 FLOP per active matrix weight: projections, active experts, router, LM head.

        The embedding lookup, norms, biases and positional embeddings are not matmuls
        and are left out; the LM head is counted even when tied to the embedding.
        """
        router = self.hidden * self.moe.experts if self.moe else 0
        ffn = (3 if self.gated_ffn else 2) * self.hidden * self.ffn * self.n_active_experts
        per_layer = self._attn_weights() + router + ffn
        return 2 * (self.layers * per_layer + self.vocab * self.hidden)

    @property
    def attn_flops_per_token_ctx(self) -> int:
        """One query token against one context token, all layers: QK^T and PV, 2 FLOP each."""
        return 4 * self.layers * self.heads * self.head_dim

    def attended_tokens(self, n_tokens: int, context_tokens: int = 0) -> int:
        """Sum over ``n_tokens`` new tokens of how many tokens each attends to.

        New token i (1-based) sits at position ``context_tokens + i`` and attends to every
        earlier token and itself, or to the last ``sliding_window`` of them.
        """
        if n_tokens < 0 or context_tokens < 0:
            raise ConfigError(f"n_tokens={n_tokens}, context_tokens={context_tokens} must be >= 0")
        a, b = context_tokens + 1, context_tokens + n_tokens     # positions a..b
        w = self.sliding_window
        if w is None or b <= w:
            return (a + b) * n_tokens // 2
        if a > w:
            return w * n_tokens
        return (a + w) * (w - a + 1) // 2 + w * (b - w)

    def prefill_flops(self, n_tokens: int, context_tokens: int = 0) -> int:
        """FLOPs to process ``n_tokens`` new tokens after ``context_tokens`` cached ones (causal)."""
        return (n_tokens * self.linear_flops_per_token
                + self.attn_flops_per_token_ctx * self.attended_tokens(n_tokens, context_tokens))

    def decode_flops(self, context_tokens: int) -> int:
        """FLOPs for one new token after ``context_tokens`` cached ones (= ``prefill_flops(1, c)``)."""
        return self.prefill_flops(1, context_tokens)


def model_path(name_or_path: str | Path) -> Path:
    """The catalogue file for a model name, or ``name_or_path`` itself if it is a path."""
    if str(name_or_path).endswith(".json"):   # a Hugging Face config.json
        return Path(name_or_path)
    return catalogue.find(name_or_path, MODELS_DIR, noun="model", shelf="catalogue", field="model",
                          lower=True)


def load_model(name_or_path: str | Path) -> ModelSpec:
    """Load a catalogue model (``"llama-3.1-8b"``), a model YAML file or a Hugging Face
    ``config.json`` (see ``hf_config``); ConfigError on problems."""
    path = model_path(name_or_path)
    if path.suffix == ".json":
        return validate_located(ModelSpec, hf_config_to_spec(read_hf_config(path), path=path), file=path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}",
                          file=str(path))
    return validate_located(ModelSpec, data, file=path)


def list_models() -> list[tuple[str, str]]:
    """``[(name, description), ...]`` of the catalogue, sorted by name."""
    return catalogue.listing(MODELS_DIR)
