"""The example in docs/hardware.md is a valid hardware file."""
from __future__ import annotations

from pathlib import Path

from memsim.hwmodels import load_platform

DOC = Path(__file__).resolve().parents[2] / "docs" / "hardware.md"


def test_docs_example_loads(tmp_path):
    text = DOC.read_text()
    block = text.split("## Example", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "my_box.yaml"
    path.write_text(block)
    p = load_platform(path)
    assert p.name == "my_box"
    assert [link.name for link in p.path("hbm", "ssd")] == ["pcie", "nvme"]
    ssd = p.tier("ssd")
    assert ssd.bandwidth_at(4096, 1) < ssd.bandwidth_at(1 << 20, 1) <= ssd.read_bw
