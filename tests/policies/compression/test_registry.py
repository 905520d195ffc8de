"""Every compression policy is registered, documented, and has a readable repr."""
import numpy as np
import pytest

from memsim.policies import create, registry
from memsim.policies.compression import CompressionPolicy

NAMES = ["full", "streaming_llm", "h2o", "scissorhands", "sage_kv", "lazy_eviction", "paged_eviction",
         "zigzag_kv", "kivi", "mikv", "infinigen", "specache", "shadowkv"]


def test_all_registered():
    assert sorted(registry.names("compression")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_contract_docstring_and_repr(name, llama8b):
    pol = create("compression", name)
    assert isinstance(pol, CompressionPolicy)
    doc = type(pol).__doc__
    for part in ("Models:", "Parameters:", "Differs from the paper:"):
        assert part in doc, f"{name}: docstring lacks {part}"
    assert type(pol).__name__ in repr(pol)
    assert pol.kv_bytes_per_token(llama8b) > 0
    assert pol.mode in ("evict", "quantize", "fetch")
    pol.start(prompt_tokens=8, layers=1, heads=1, budget_tokens=3, prefill=np.full((1, 1, 8), 1 / 8))
    if pol.mode == "fetch":
        pol.peek(0, np.full((1, 1, 8), 1 / 8), np.random.default_rng(0))
    assert pol.plan(0, 8).shape == (1, 1, 8)
