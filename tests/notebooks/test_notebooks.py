"""The example notebooks run top to bottom in a real kernel (nbclient), on small parameters.

Each notebook ends by printing one JSON line of what it found; the checks below
read it, so a notebook that runs but computes nonsense still fails.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install 'memsim[dev]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install 'memsim[dev]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install 'memsim[dev]')")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Where compare_policies.ipynb looks for the shared trace (../../shared from the notebook).
MOONCAKE = NOTEBOOKS.parents[1] / "shared" / "traces" / "mooncake_conversation" / "conversation_trace.jsonl"
REQUESTS = 150


def _execute(name: str, monkeypatch) -> tuple[object, dict]:
    monkeypatch.setenv("MEMSIM_NB_REQUESTS", str(REQUESTS))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    return nb, json.loads(text.strip().splitlines()[-1])


def _no_error_outputs(nb) -> None:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            assert out.get("name") != "stderr" or "Traceback" not in out.get("text", "")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("trace", ["shared", "synthetic"])
def test_compare_policies(monkeypatch, trace):
    if trace == "shared" and not MOONCAKE.is_file():
        pytest.skip(f"shared Mooncake trace not found at {MOONCAKE} (../shared is absent)")
    if trace == "synthetic":          # what the notebook does where ../shared is absent
        monkeypatch.setenv("MEMSIM_MOONCAKE_TRACE", "/nonexistent/conversation_trace.jsonl")
    nb, found = _execute("compare_policies.ipynb", monkeypatch)
    _no_error_outputs(nb)
    assert found["source"].startswith("Mooncake" if trace == "shared" else "synthetic")
    assert found["policies"] == ["lru", "fifo", "sieve", "s3fifo", "arc", "lru2"]
    assert found["completed"] == [REQUESTS] * 6                  # the notebook's own policy ran too
    assert all(0.0 <= h <= 1.0 for h in found["prefix_hit_ratio"])
    assert found["best"] in found["policies"]
    registered = [c for c in nb.cells if c.cell_type == "code" and "@policies.register" in c.source]
    assert registered and registered[0].outputs[-1]["data"]["text/plain"] == "True"
    figs = [o for c in nb.cells for o in c.get("outputs", [])
            if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figs) == 2


@pytest.mark.timeout(120)
def test_tiering_whatif(monkeypatch):
    nb, found = _execute("tiering_whatif.ipynb", monkeypatch)
    _no_error_outputs(nb)
    assert found["points"] == 16 and found["failed"] == 0
    kv = found["kv_gib"]
    # grid order: platform x memory_fraction x block_tokens; the H200 (second half) has more HBM
    assert all(h200 > h100 for h100, h200 in zip(kv[:8], kv[8:]))
    assert kv[0] < kv[2] < kv[4] < kv[6]                         # more memory_fraction, more KV
    p99 = found["ttft_p99_s"]
    assert p99[0] >= p99[6]                 # 5 GiB of KV is no faster than 57 GiB on the H100
