"""Builders for training tests: scenarios from keyword overrides, GPT-shaped test models."""
from __future__ import annotations

import pytest
import yaml

from memsim.ground.schema import validate
from memsim.sim.train.layout import resolve
from memsim.sim.train.scenario import TrainScenario
from memsim.workloads.model import load_model


def make(**over) -> TrainScenario:
    data = {"kind": "train", "platform": "h100_sxm", "model": "llama-3.1-8b", "global_batch": 8,
            "micro_batch": 1, "seq_len": 2048}
    data.update(over)
    return validate(TrainScenario, data)


def gpt_model(tmp_path, *, layers=4, hidden=1024, heads=16, vocab=4096, name="gpt-test"):
    """A GPT layer as the activation-recomputation paper counts it: ffn = 4h, no GQA, layernorm."""
    spec = {"name": name, "layers": layers, "hidden": hidden, "heads": heads, "kv_heads": heads,
            "head_dim": hidden // heads, "ffn": 4 * hidden, "vocab": vocab, "max_context": 1 << 20,
            "dtype": "bf16", "gated_ffn": False, "tie_embeddings": True, "norm": "layernorm",
            "source": "test model"}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def scenario():
    """``scenario(**over)`` -> a validated TrainScenario (Llama-3.1-8B on 8x H100 by default)."""
    return make


@pytest.fixture
def layout():
    """``layout(**over)`` -> the resolved Layout of ``make(**over)``."""
    return lambda **over: resolve(make(**over))


@pytest.fixture
def gpt(tmp_path):
    """``gpt(**shape)`` -> path of a GPT-shaped model YAML."""
    return lambda **kw: gpt_model(tmp_path, **kw)


@pytest.fixture(scope="session")
def llama8b():
    return load_model("llama-3.1-8b")
