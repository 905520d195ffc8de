"""Models from Hugging Face config.json files: the same numbers as the catalogue's YAML, one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.workloads import load_model

DATA = Path(__file__).resolve().parent / "data" / "hf"
REPO = Path(__file__).resolve().parents[2]
#: config.json folder -> the catalogue entry it must match
PAIRS = {"Llama-3.1-8B": "llama-3.1-8b", "Mixtral-8x7B-v0.1": "mixtral-8x7b", "Mistral-7B-v0.1": "mistral-7b",
         "Qwen2.5-7B": "qwen2.5-7b", "opt-6.7b": "opt-6.7b"}
SHAPE = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab", "max_context", "dtype",
         "gated_ffn", "tie_embeddings", "norm", "qkv_bias", "linear_bias", "learned_positions",
         "sliding_window", "moe")
DERIVED = ("params_total", "params_active", "weight_bytes", "kv_bytes_per_token", "linear_flops_per_token",
           "expert_bytes", "dense_bytes")


@pytest.mark.parametrize("folder", sorted(PAIRS))
def test_config_json_matches_the_catalogue(folder):
    hf, cat = load_model(DATA / folder / "config.json"), load_model(PAIRS[folder])
    assert {k: getattr(hf, k) for k in SHAPE} == {k: getattr(cat, k) for k in SHAPE}
    assert {k: getattr(hf, k) for k in DERIVED} == {k: getattr(cat, k) for k in DERIVED}
    assert hf.decode_flops(4096) == cat.decode_flops(4096)


def test_llama_and_mixtral_numbers():
    llama = load_model(DATA / "Llama-3.1-8B" / "config.json")
    assert llama.name == "llama-3.1-8b" and llama.kv_bytes_per_token == 131072
    assert 8.0e9 < llama.params_total < 8.1e9
    mixtral = load_model(DATA / "Mixtral-8x7B-v0.1" / "config.json")
    assert (mixtral.moe.experts, mixtral.moe.active_experts) == (8, 2)
    assert 46e9 < mixtral.params_total < 47.5e9 and 12.5e9 < mixtral.params_active < 13.2e9


def test_scenario_names_a_config_json(tmp_path):
    folder = tmp_path / "Llama-3.1-8B"
    folder.mkdir()
    (folder / "config.json").write_text((DATA / "Llama-3.1-8B" / "config.json").read_text())
    scen = (REPO / "scenarios" / "quickstart.yaml").read_text().replace("model: llama-3.1-8b",
                                                                        "model: Llama-3.1-8B/config.json")
    (tmp_path / "s.yaml").write_text(scen)
    over = {"workload.num_requests": 30}
    a = memsim.run(tmp_path / "s.yaml", overrides=over).summary
    b = memsim.run(REPO / "scenarios" / "quickstart.yaml", overrides=over).summary
    assert a["ttft_p50_s"] == b["ttft_p50_s"] and a["throughput_tok_s"] == b["throughput_tok_s"]


def test_models_show_reads_a_config_json(capsys):
    assert main(["models", "show", str(DATA / "Mixtral-8x7B-v0.1" / "config.json"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["moe"] == {"experts": 8, "active_experts": 2} and shown["name"] == "mixtral-8x7b-v0.1"


def _write(tmp_path, **cfg):
    base = json.loads((DATA / "Llama-3.1-8B" / "config.json").read_text())
    base.update(cfg)
    base = {k: v for k, v in base.items() if v is not None}
    f = tmp_path / "config.json"
    f.write_text(json.dumps(base))
    return f


@pytest.mark.parametrize("change, message", [
    ({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}, "model_type: model_type 'gpt2' is not supported"),
    ({"hidden_size": None}, "hidden_size: required field is missing"),
    ({"torch_dtype": None}, "torch_dtype: required field is missing"),
    ({"num_hidden_layers": "32"}, "num_hidden_layers: '32' must be a positive integer"),
    ({"torch_dtype": "float4"}, "torch_dtype: 'float4' is not a weight type"),
])
def test_one_line_errors(tmp_path, capsys, change, message):
    f = _write(tmp_path, **change)
    with pytest.raises(ConfigError) as e:
        load_model(f)
    assert str(e.value).startswith(f"{f}: ") and message in str(e.value)
    assert main(["models", "show", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_opt_projection_and_bad_json(tmp_path):
    cfg = json.loads((DATA / "opt-6.7b" / "config.json").read_text())
    cfg.update(hidden_size=1024, word_embed_proj_dim=512, ffn_dim=4096, num_attention_heads=16)
    f = tmp_path / "opt.json"
    f.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match="word_embed_proj_dim: 512 differs from hidden_size 1024"):
        load_model(f)
    f.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(f)
