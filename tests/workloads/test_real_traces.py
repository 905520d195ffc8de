"""The shared real traces read back with the figures their README states (skipped if absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from memsim.workloads import open_workload

REPO = Path(__file__).resolve().parents[2]
TRACES = Path(os.environ.get("MEMSIM_TRACE_DIR") or REPO.parent / "shared" / "traces")
MOONCAKE = TRACES / "mooncake_conversation" / "conversation_trace.jsonl"
AZURE = TRACES / "azure_llm_2023_conv" / "AzureLLMInferenceTrace_conv.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared trace not present at {path} (set MEMSIM_TRACE_DIR to its folder)")
    return path


def ideal_prefix_hit_ratio(requests) -> float:
    """Share of block references whose id was seen before (an infinite prefix cache)."""
    seen: set[int] = set()
    hits = total = 0
    for r in requests:
        for h in r.hash_ids:
            hits += h in seen
            seen.add(h)
        total += len(r.hash_ids)
    return hits / total


def test_mooncake_conversation_trace():
    reqs = list(open_workload({"kind": "mooncake", "path": str(need(MOONCAKE))}))
    assert len(reqs) == 12_031
    assert sum(r.input_tokens for r in reqs) == 144_793_823
    assert sum(r.output_tokens for r in reqs) == 4_122_048
    assert reqs[-1].arrival_s - reqs[0].arrival_s == pytest.approx(3537.0, abs=0.01)
    assert round(100 * ideal_prefix_hit_ratio(reqs), 2) == 36.64
    assert sum(len(r.hash_ids) for r in reqs) == 288_500


def test_mooncake_from_a_scenario_folder_relative_path():
    """A scenario in scenarios/ names the trace as ../../shared/traces/... relative to itself."""
    need(MOONCAKE)
    if TRACES != REPO.parent / "shared" / "traces":
        pytest.skip("MEMSIM_TRACE_DIR points elsewhere; the sibling layout is not in use")
    spec = {"kind": "mooncake", "limit": 3,
            "path": "../../shared/traces/mooncake_conversation/conversation_trace.jsonl"}
    assert len(list(open_workload(spec, base_dir=REPO / "scenarios"))) == 3


def test_azure_conversation_trace():
    reqs = list(open_workload({"kind": "azure", "path": str(need(AZURE))}))
    assert len(reqs) == 19_366
    assert sum(r.input_tokens for r in reqs) == 22_361_870
    assert sum(r.output_tokens for r in reqs) == 4_088_665
    assert reqs[0].arrival_s == 0.0
    assert reqs[-1].arrival_s == pytest.approx(3501.72, abs=0.01)


def test_azure_window_and_speedup():
    full = list(open_workload({"kind": "azure", "path": str(need(AZURE))}))
    cut = list(open_workload({"kind": "azure", "path": str(AZURE), "start": "10 min",
                              "end": "20 min", "time_scale": 4.0}))
    expect = [r for r in full if 600 <= r.arrival_s < 1200]
    assert len(cut) == len(expect) > 0
    assert [r.input_tokens for r in cut] == [r.input_tokens for r in expect]
    for a, b in zip(cut, expect):
        assert a.arrival_s == pytest.approx((b.arrival_s - 600) / 4.0, abs=1e-9)
    assert cut[-1].arrival_s < 150.0
