"""A model from a Hugging Face ``config.json``: the same ``ModelSpec`` a catalogue YAML gives.

Supported ``model_type``s: llama, mistral, mixtral, qwen2 (SwiGLU FFN, RMSNorm,
rotary positions) and opt (ReLU FFN with biases, LayerNorm, learned positions).
The fields read, and how each becomes a ``ModelSpec`` field:

    num_hidden_layers -> layers            hidden_size -> hidden
    num_attention_heads -> heads           num_key_value_heads -> kv_heads (default: heads)
    head_dim -> head_dim (default hidden_size / heads)
    intermediate_size (OPT: ffn_dim) -> ffn
    vocab_size -> vocab                    max_position_embeddings -> max_context
    torch_dtype (or dtype) -> dtype        tie_word_embeddings -> tie_embeddings
    num_local_experts, num_experts_per_tok -> moe (Mixtral)
    sliding_window -> sliding_window (Mistral, Mixtral; Qwen2 only with use_sliding_window)
    attention_bias, mlp_bias (Llama), enable_bias (OPT) -> qkv_bias, linear_bias

Anything else (rope scaling, dropout, token ids) does not change bytes or FLOPs
and is ignored.  A missing field, an unsupported architecture or a shape memsim
does not model (OPT's ``word_embed_proj_dim`` projections, Qwen2's per-layer
windows) is one ConfigError naming the file and the field.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from memsim.ground.errors import ConfigError

__all__ = ["hf_config_to_spec", "read_hf_config", "SUPPORTED"]

#: model_type -> (gated FFN, norm, QKV bias by default, tied embeddings by default)
SUPPORTED: dict[str, tuple[bool, str, bool, bool]] = {
    "llama": (True, "rmsnorm", False, False),
    "mistral": (True, "rmsnorm", False, False),
    "mixtral": (True, "rmsnorm", False, False),
    "qwen2": (True, "rmsnorm", True, False),
    "opt": (False, "layernorm", False, True),
}

_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32",
           "float8_e4m3fn": "fp8", "float8_e5m2": "fp8", "int8": "int8"}
_ARCH = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "MixtralForCausalLM": "mixtral",
         "Qwen2ForCausalLM": "qwen2", "OPTForCausalLM": "opt"}


def read_hf_config(path: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` (a mapping), or a one-line ConfigError."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("model file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read: {e}", file=str(p)) from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})", file=str(p)) from None
    except RecursionError:   # Python's decoder recurses once per nesting level
        raise ConfigError("not a model config: JSON nested too deep", file=str(p)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"expected a JSON object at the top level, got {type(data).__name__}", file=str(p))
    return data


def _model_type(cfg: dict, file: str) -> str:
    mt = cfg.get("model_type")
    if mt is None:
        archs = cfg.get("architectures") or []
        mt = next((_ARCH[a] for a in archs if a in _ARCH), None)
        if mt is None:
            raise ConfigError("no model_type (and no supported architectures entry); is this a Hugging Face "
                              "config.json?", file=file, field="model_type")
    if mt not in SUPPORTED:
        raise ConfigError(f"model_type {mt!r} is not supported (supported: {', '.join(sorted(SUPPORTED))}); "
                          "describe it in a model YAML instead (docs/models.md)", file=file, field="model_type")
    return mt


def _count(cfg: dict, key: str, file: str, default: Any = None) -> int:
    v = cfg.get(key, default)
    if v is None:
        raise ConfigError("required field is missing", file=file, field=key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"{v!r} must be a positive integer", file=file, field=key)
    return v


def _dtype(cfg: dict, file: str) -> str:
    key = "torch_dtype" if "torch_dtype" in cfg else "dtype"
    v = cfg.get(key)
    if v is None:
        raise ConfigError("required field is missing (bfloat16, float16 or float32)", file=file,
                          field="torch_dtype")
    if v not in _DTYPES:
        raise ConfigError(f"{v!r} is not a weight type memsim knows ({', '.join(_DTYPES)})", file=file, field=key)
    return _DTYPES[v]


def _name(cfg: dict, path: Path) -> str:
    given = str(cfg.get("_name_or_path") or "").rstrip("/").split("/")[-1]
    if not given:
        given = path.parent.name if path.stem == "config" and path.parent.name else path.stem
    name = re.sub(r"[^a-z0-9._\-]+", "-", given.lower()).strip("-._")
    return name or "hf-model"


def _window(cfg: dict, mt: str, file: str) -> int | None:
    if mt == "qwen2":
        if not cfg.get("use_sliding_window"):
            return None
        if cfg.get("max_window_layers", 0) < cfg.get("num_hidden_layers", 0):
            raise ConfigError("sliding windows on some layers only (max_window_layers) are not modelled",
                              file=file, field="use_sliding_window")
    if mt == "opt" or cfg.get("sliding_window") is None:
        return None
    return _count(cfg, "sliding_window", file)


def hf_config_to_spec(cfg: dict[str, Any], *, path: str | Path) -> dict[str, Any]:
    """The ``ModelSpec`` fields of a Hugging Face config mapping (validate them with ``ModelSpec``)."""
    path = Path(path)
    file = str(path)
    mt = _model_type(cfg, file)
    gated, norm, qkv_bias, tied = SUPPORTED[mt]
    layers, hidden = _count(cfg, "num_hidden_layers", file), _count(cfg, "hidden_size", file)
    heads = _count(cfg, "num_attention_heads", file)
    spec: dict[str, Any] = {
        "name": _name(cfg, path),
        "description": f"{(cfg.get('architectures') or [mt])[0]} from {path.name} ({mt})",
        "layers": layers, "hidden": hidden, "heads": heads,
        "kv_heads": _count(cfg, "num_key_value_heads", file, heads),
        "head_dim": _count(cfg, "head_dim", file, hidden // heads if hidden % heads == 0 else None),
        "ffn": _count(cfg, "ffn_dim" if mt == "opt" else "intermediate_size", file),
        "vocab": _count(cfg, "vocab_size", file),
        "max_context": _count(cfg, "max_position_embeddings", file),
        "dtype": _dtype(cfg, file),
        "gated_ffn": gated, "norm": norm,
        "tie_embeddings": bool(cfg.get("tie_word_embeddings", tied)),
        "qkv_bias": qkv_bias or bool(cfg.get("attention_bias", False)),
        "linear_bias": bool(cfg.get("mlp_bias", False)) and bool(cfg.get("attention_bias", False)),
        "sliding_window": _window(cfg, mt, file),
        "source": file,
    }
    if mt == "opt":
        proj = cfg.get("word_embed_proj_dim", hidden)
        if proj != hidden:
            raise ConfigError(f"{proj} differs from hidden_size {hidden}: OPT's project_in/project_out "
                              "layers are not modelled", file=file, field="word_embed_proj_dim")
        # OPTLearnedPositionalEmbedding keeps 2 extra rows (the padding offset)
        spec.update(linear_bias=bool(cfg.get("enable_bias", True)), learned_positions=spec["max_context"] + 2)
    if mt == "mixtral":
        spec["moe"] = {"experts": _count(cfg, "num_local_experts", file),
                       "active_experts": _count(cfg, "num_experts_per_tok", file)}
    return spec
