"""The calibrated host is a valid hardware file; the calibration's pure helpers."""
from __future__ import annotations

import json

import pytest

from memsim.validate import microbench as mb
from memsim.validate.calibrate import Calibration, _knee, host_platform_dict, load_calibration, write_host


def test_host_yaml_is_a_valid_platform(cal, tmp_path):
    hwmodels = pytest.importorskip("hwmodels", reason="hwmodels loader not present")
    path = write_host(cal, tmp_path)
    plat = hwmodels.load_platform(path)
    assert [t.name for t in plat.tiers] == ["l1", "l2", "l3", "dram"]
    assert plat.tier("l3").read_bw == pytest.approx(25e9)
    assert plat.tier("l1").latency == pytest.approx(1e-9)
    assert plat.tier("dram").capacity == 16 * 1024 ** 3
    assert plat.compute.sm_count == 2
    assert plat.compute.peak("fp32") == pytest.approx(50e9 * 2)
    assert plat.compute.efficiency.gemm == pytest.approx(4e9 / 50e9, abs=1e-4)
    # parallelism by Little's law: DRAM 10 GB/s x 100 ns / 64 B = 15.6 -> 16
    assert plat.tier("dram").parallelism == 16
    assert load_calibration(tmp_path) == cal


def test_calibration_json_round_trip(cal):
    assert Calibration.from_json(cal.to_json()) == cal
    assert json.loads(cal.to_json())["levels"][1]["overlap"] == 0.5


def test_platform_dict_lists_links_between_neighbours(cal):
    d = host_platform_dict(cal)
    assert [ln["between"] for ln in d["links"]] == [["l2", "l1"], ["l3", "l2"], ["dram", "l3"]]
    assert d["links"][2]["bandwidth"] == "10.000 GB/s"


def test_knee_interpolates_the_crossing():
    mib = 1024 ** 2
    curve = [(8 * mib, 30e9), (16 * mib, 30e9), (32 * mib, 30e9), (64 * mib, 10e9)]
    k = _knee(curve)
    assert 32 * mib < k < 64 * mib
    assert _knee([(1, 5.0), (2, 5.0)]) == 2


def test_read_caches_from_a_fake_sysfs(tmp_path):
    for i, (lvl, typ, size, shared) in enumerate([(1, "Data", "48K", "0"), (1, "Instruction", "32K", "0"),
                                                   (2, "Unified", "2048K", "0"), (3, "Unified", "32M", "0-3")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{lvl}\n")
        (d / "type").write_text(f"{typ}\n")
        (d / "size").write_text(f"{size}\n")
        (d / "coherency_line_size").write_text("64\n")
        (d / "shared_cpu_list").write_text(f"{shared}\n")
    caches = mb.read_caches(tmp_path)
    assert [(c.level, c.size_bytes, c.shared_cpus) for c in caches] == [
        (1, 48 * 1024, 1), (2, 2 * 1024 ** 2, 1), (3, 32 * 1024 ** 2, 4)]
    assert mb.read_caches(tmp_path / "missing") == []
