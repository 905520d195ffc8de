"""Drive a compression policy by hand: start, then plan/observe with given attention rows."""
from __future__ import annotations

import numpy as np


def start(pol, prefill, budget):
    L, H, P = prefill.shape
    pol.start(prompt_tokens=P, layers=L, heads=H, budget_tokens=budget, prefill=np.asarray(prefill, float))
    return pol


def kept(mask):
    """Kept positions of layer 0, head 0."""
    return [int(i) for i in np.flatnonzero(mask[0, 0])]


def one_hot_row(C, weights):
    """A (1, 1, C) attention row with the given {position: weight}, rest uniform-small."""
    row = np.full(C, 1e-4)
    for i, w in weights.items():
        row[i] = w
    return (row / row.sum())[None, None]


import types  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def drive():
    """Helpers: ``drive.start(pol, prefill, budget)``, ``drive.kept(mask)``, ``drive.row(C, {i: w})``."""
    return types.SimpleNamespace(start=start, kept=kept, row=one_hot_row)


@pytest.fixture
def llama8b():
    from memsim.workloads import load_model
    return load_model("llama-3.1-8b")
