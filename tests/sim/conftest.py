"""Small scenario dicts for engine tests (the ``scenario`` fixture builds one)."""
from __future__ import annotations

import copy

import pytest


def make_scenario(**over) -> dict:
    base = {
        "version": 1, "name": "test", "seed": 1,
        "platform": "h100_sxm", "model": "llama-3.1-8b",
        "workload": {
            "kind": "synthetic", "num_requests": 120,
            "arrivals": {"process": "poisson", "rate": "6 req/s"},
            "input_tokens": {"dist": "lognormal", "mean": 3000, "sigma": 0.8, "max": 30000},
            "output_tokens": {"dist": "lognormal", "mean": 200, "sigma": 0.6, "max": 1500},
            "shared_prefix": {"prompts": 4, "tokens": 2048, "popularity": 1.0},
            "hash_block_tokens": 512,
        },
        "scheduler": {"max_batch_size": 64, "max_batch_tokens": 4096},
        "kv": {"block_tokens": 16},
    }
    out = copy.deepcopy(base)
    for path, value in over.items():
        cur = out
        parts = path.split("__")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return out


@pytest.fixture
def scenario():
    """``scenario(**over)`` -> a small synthetic scenario dict; ``a__b=v`` sets nested keys."""
    return make_scenario
