"""The example notebooks: committed with their outputs, every figure visible in nbconvert's HTML,
and each one runs top to bottom in a real kernel (nbclient) on small parameters.

Each notebook ends by printing one JSON line of what it found; the checks below read it, so a
notebook that runs but computes nonsense still fails.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install 'memsim[dev]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install 'memsim[dev]')")
nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is not installed (pip install 'memsim[dev]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install 'memsim[dev]')")

from memsim.reports.export import can_render_images  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Where custom_eviction_tiers.ipynb looks for the shared trace (../../shared from the notebook).
MOONCAKE = NOTEBOOKS.parents[1] / "shared" / "traces" / "mooncake_conversation" / "conversation_trace.jsonl"
REQUESTS = 150
PLOTLY = "application/vnd.plotly.v1+json"


def _execute(name: str, monkeypatch, *, static: bool = False) -> tuple[object, dict]:
    monkeypatch.setenv("MEMSIM_NB_REQUESTS", str(REQUESTS))
    monkeypatch.setenv("MEMSIM_NB_STATIC", "1" if static else "0")   # PNG copies cost a browser
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=90, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    return nb, json.loads(text.strip().splitlines()[-1])


def _no_error_outputs(nb) -> None:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            assert out.get("name") != "stderr" or "Traceback" not in out.get("text", "")


def _figures(nb) -> list[dict]:
    return [o for c in nb.cells for o in c.get("outputs", []) if PLOTLY in o.get("data", {})]


def _html_shows_every_figure(nb) -> None:
    """nbconvert's HTML ignores plotly's own output: each figure must come with an image it shows."""
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    figs = _figures(nb)
    assert figs
    for fig in figs:
        png = fig["data"].get("image/png")
        assert png, "a figure without a static copy shows as an empty box outside Jupyter"
        assert f"data:image/png;base64,{png.strip()[:200]}" in html.replace("\n", "")


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_committed_notebooks_carry_outputs_and_show_their_figures(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), f"{name}: run python notebooks/execute.py"
    _no_error_outputs(nb)
    _html_shows_every_figure(nb)
    assert (NOTEBOOKS / name).stat().st_size < 600_000          # small outputs


def _registered(nb, marker: str) -> bool:
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    return bool(cells) and cells[0].outputs[-1]["data"]["text/plain"] == "True"


@pytest.mark.timeout(180)
def test_compare_policies(monkeypatch):
    nb, found = _execute("compare_policies.ipynb", monkeypatch)
    _no_error_outputs(nb)
    assert found["source"] == "eviction-pressure-lru"
    assert found["policies"] == ["lru", "fifo", "sieve", "s3fifo", "arc", "lru2"]
    assert found["completed"] == [REQUESTS] * 6                  # the notebook's own policy ran too
    assert all(0.0 <= h <= 1.0 for h in found["prefix_hit_ratio"])
    assert found["best"] in found["policies"]
    assert _registered(nb, "@policies.register")
    assert len(_figures(nb)) == 2


@pytest.mark.timeout(180)
@pytest.mark.parametrize("trace", ["shared", "synthetic"])
def test_custom_eviction_tiers(monkeypatch, trace):
    if trace == "shared" and not MOONCAKE.is_file():
        pytest.skip(f"shared Mooncake trace not found at {MOONCAKE} (../shared is absent)")
    if trace == "synthetic":          # what the notebook does where ../shared is absent
        monkeypatch.setenv("MEMSIM_MOONCAKE_TRACE", "/nonexistent/conversation_trace.jsonl")
    nb, found = _execute("custom_eviction_tiers.ipynb", monkeypatch)
    _no_error_outputs(nb)
    assert found["source"].startswith("Mooncake" if trace == "shared" else "synthetic")
    assert found["policies"] == ["lru", "s3fifo", "hit_protected_lru"]
    assert found["completed"] == [REQUESTS] * 3
    assert all(0.0 <= h <= 1.0 for h in found["prefix_hit_ratio"] + found["dram_hit_ratio"])
    assert _registered(nb, '@memsim.policies.register("eviction")')
    assert len(_figures(nb)) == 2


@pytest.mark.timeout(240)
def test_tiering_whatif(monkeypatch):
    static = can_render_images()          # a fresh run makes the static copies too (CI has Chromium)
    nb, found = _execute("tiering_whatif.ipynb", monkeypatch, static=static)
    _no_error_outputs(nb)
    assert found["points"] == 16 and found["failed"] == 0
    kv = found["kv_gib"]
    # grid order: platform x memory_fraction x block_tokens; the H200 (second half) has more HBM
    assert all(h200 > h100 for h100, h200 in zip(kv[:8], kv[8:]))
    assert kv[0] < kv[2] < kv[4] < kv[6]                         # more memory_fraction, more KV
    p99 = found["ttft_p99_s"]
    assert p99[0] >= p99[6]                 # 5 GiB of KV is no faster than 57 GiB on the H100
    if static:
        _html_shows_every_figure(nb)
