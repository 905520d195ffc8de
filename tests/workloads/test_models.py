"""The model catalogue: published parameter counts, KV bytes per token, FLOPs, bad files, CLI."""
from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.workloads.model import MODELS_DIR, list_models, load_model

# published parameter counts (model cards / papers), total and active
PUBLISHED = {
    "llama-3.1-8b": (8.03e9, None), "llama-3.1-70b": (70.6e9, None),
    "llama-2-7b": (6.74e9, None), "llama-2-13b": (13.0e9, None),
    "mistral-7b": (7.24e9, None), "qwen2.5-7b": (7.62e9, None),
    "qwen2.5-32b": (32.8e9, None), "qwen2.5-72b": (72.7e9, None),
    "mixtral-8x7b": (46.7e9, 12.9e9), "opt-6.7b": (6.7e9, None), "opt-30b": (30e9, None),
}
NAMES = sorted(PUBLISHED)


def test_catalogue_is_complete_and_named_by_file():
    assert [n for n, _ in list_models()] == NAMES
    for n in NAMES:
        assert load_model(n).name == n


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_within_2_percent(name):
    m = load_model(name)
    total, active = PUBLISHED[name]
    assert m.params_total == pytest.approx(total, rel=0.02)
    assert m.params_active == pytest.approx(active or total, rel=0.02)
    assert m.weight_bytes == m.params_total * m.dtype_bytes


@pytest.mark.parametrize("name", NAMES)
def test_kv_bytes_per_token_match_the_yaml_fields(name):
    raw = yaml.safe_load((MODELS_DIR / f"{name}.yaml").read_text())
    nbytes = {"bf16": 2, "fp16": 2, "fp32": 4, "fp8": 1, "int8": 1}[raw.get("kv_dtype", raw["dtype"])]
    expect = 2 * raw["layers"] * raw["kv_heads"] * raw["head_dim"] * nbytes
    assert load_model(name).kv_bytes_per_token == expect
    assert raw["source"].startswith("https://huggingface.co/")


def test_known_kv_sizes():
    assert load_model("llama-3.1-8b").kv_bytes_per_token == 128 * 1024
    assert load_model("llama-2-7b").kv_bytes_per_token == 512 * 1024
    assert load_model("llama-3.1-70b").kv_bytes_per_token == 320 * 1024


def test_kv_dtype_overrides_dtype(tmp_path):
    raw = yaml.safe_load((MODELS_DIR / "llama-3.1-8b.yaml").read_text())
    raw["kv_dtype"] = "fp8"
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(raw))
    m = load_model(p)
    assert m.kv_dtype_bytes == 1 and m.kv_bytes_per_token == 64 * 1024 and m.dtype_bytes == 2


def test_linear_flops_llama_3_1_8b_by_hand():
    m = load_model("llama-3.1-8b")
    attn = 4096 * 4096 * 2 + 4096 * 1024 * 2      # q, o + k, v (8 KV heads x 128)
    ffn = 3 * 4096 * 14336
    expect = 2 * (32 * (attn + ffn) + 128256 * 4096)
    assert m.linear_flops_per_token == expect
    assert m.attn_flops_per_token_ctx == 4 * 32 * 32 * 128


def test_moe_counts_only_active_experts():
    m = load_model("mixtral-8x7b")
    assert m.expert_bytes == 32 * 3 * 4096 * 14336 * 2
    assert m.weight_bytes == m.dense_bytes + 8 * m.expert_bytes
    assert m.active_weight_bytes == m.dense_bytes + 2 * m.expert_bytes
    dense = load_model("mistral-7b")                 # same shape, one FFN
    assert m.linear_flops_per_token == pytest.approx(
        dense.linear_flops_per_token + 2 * 32 * (3 * 4096 * 14336 + 4096 * 8), rel=1e-12)
    assert dense.expert_bytes == 0 and dense.dense_bytes == dense.weight_bytes


def test_prefill_and_decode_flops():
    m = load_model("llama-3.1-8b")
    lin, a = m.linear_flops_per_token, m.attn_flops_per_token_ctx
    assert m.prefill_flops(1000) == 1000 * lin + a * (1000 * 1001 // 2)
    assert m.prefill_flops(10, 90) == 10 * lin + a * sum(range(91, 101))
    assert m.decode_flops(4095) == lin + a * 4096
    assert m.prefill_flops(0, 50) == 0
    # the quadratic term: at 32k tokens attention is a visible share of prefill
    n = 32768
    assert a * n * (n + 1) // 2 > 0.25 * n * lin


def test_sliding_window_caps_attention():
    m = load_model("mistral-7b")
    assert m.sliding_window == 4096
    assert m.decode_flops(10_000) == m.decode_flops(20_000)
    assert m.decode_flops(100) < m.decode_flops(4095) == m.decode_flops(5000)
    assert m.attended_tokens(8192) == 4096 * 4097 // 2 + 4096 * 4096


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["llama-3.1-8b", "mistral-7b", "opt-6.7b"]),
       a=st.integers(0, 9000), b=st.integers(0, 9000), c=st.integers(0, 9000))
def test_chunked_prefill_adds_up(name, a, b, c):
    m = load_model(name)
    assert m.prefill_flops(a + b, c) == m.prefill_flops(a, c) + m.prefill_flops(b, c + a)


def _bad(tmp_path, mutate) -> str:
    raw = yaml.safe_load((MODELS_DIR / "llama-3.1-8b.yaml").read_text())
    mutate(raw)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as e:
        load_model(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}: ") and "\n" not in msg
    return msg


@pytest.mark.parametrize("mutate, expect", [
    (lambda d: d.update(n_layers=32), "n_layers: unknown key"),
    (lambda d: d.update(kv_heads=5), "kv_heads: heads=32 is not a multiple of kv_heads=5"),
    (lambda d: d.pop("source"), "source: required field is missing"),
    (lambda d: d.update(dtype="fp64"), "dtype: Input should be"),
    (lambda d: d.update(layers=0), "layers: Input should be greater than or equal to 1"),
    (lambda d: d.update(name="Llama 3"), "name: String should match pattern"),
    (lambda d: d.update(moe={"experts": 4, "active_experts": 8}), "moe.active_experts: active"),
])
def test_bad_model_files(tmp_path, mutate, expect):
    assert expect in _bad(tmp_path, mutate)


def test_unknown_model_name():
    with pytest.raises(ConfigError, match=r"unknown model 'llama-3.1-9b'.*did you mean"):
        load_model("llama-3.1-9b")


def test_models_cli(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in NAMES) and "128 KiB" in out
    assert main(["models", "show", "mixtral-8x7b"]) == 0
    out = capsys.readouterr().out
    assert "2 of 8 experts" in out and "expert bytes" in out
    assert main(["models", "show", "llama-3.1-8b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["derived"]["kv_bytes_per_token"] == 131072 and data["layers"] == 32
    assert main(["models", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["models"]) == len(NAMES)


def test_models_cli_bad_input_exits_2(capsys):
    assert main(["models", "show", "gpt-5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memsim: error: ") and err.count("\n") == 1
    assert main(["models"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
