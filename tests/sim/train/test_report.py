"""The training report page: memory bars per tier and state class, step breakdown, timeline."""
from __future__ import annotations

import re

from memsim.reports.train import memory_bars, render_train, step_breakdown, step_timeline
from memsim.sim.train.layout import resolve
from memsim.sim.train.result import evaluate

from .conftest import make


def _result():
    return evaluate(resolve(make(seq_len=1024, parallelism={"zero_stage": 1, "pp": 2, "dp": 4},
                                 placement={"optimizer": "dram", "grads": "dram"})))


def test_memory_bars_stack_each_state_against_capacity():
    res = _result()
    fig = memory_bars(res)
    names = {t.name for t in fig.data}
    assert {"params", "grads", "optimizer", "activations", "capacity"} <= names
    gpu = [t for t in fig.data if t.xaxis == "x" and t.name != "capacity"]
    host = [t for t in fig.data if t.xaxis == "x2" and t.name != "capacity"]
    assert list(gpu[0].x) == ["stage 0", "stage 1"] and list(host[0].x) == ["dram"]
    hbm0 = sum(r["bytes_per_device"] for r in res.memory if r["tier"] == "hbm" and r["stage"] == 0)
    assert abs(sum(t.y[0] for t in gpu) * 2**30 - hbm0) < 1e3
    dram = sum(r["bytes_per_device"] * r["devices"] for r in res.memory if r["tier"] == "dram")
    assert abs(sum(t.y[0] for t in host) * 2**30 - dram) < 1e3


def test_page_is_self_contained(tmp_path):
    res = _result()
    assert len(step_breakdown(res).data) >= 3 and step_timeline(res).data
    out = render_train(res, tmp_path / "t.html")
    text = out.read_text()
    assert "Memory per tier and state class" in text and "Step time breakdown" in text
    assert text.count('class="plotly-graph-div"') == 3
    assert not re.search(r"<script[^>]+src=", text)
    assert "every memory row" in text and "ZeRO-1" in text
