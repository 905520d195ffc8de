"""Every shipped platform loads, carries units and sources, and matches the datasheet figures."""
from __future__ import annotations

import re

import pytest
import yaml

from memsim.ground.errors import ConfigError
from memsim.ground.units import parse_bandwidth, parse_size
from memsim.hwmodels import HWMODELS_DIR, KIND_RANK, list_platforms, load_platform

SHIPPED = ["h100_sxm", "h200_sxm", "a100_sxm_80gb", "l40s", "rtx4090", "mi300x", "laptop_flash"]
QUANTITY_KEYS = {"capacity", "read_bw", "write_bw", "latency", "granularity", "energy_per_byte",
                 "request_size", "bandwidth", "sram_per_sm", "l2", "clock", "iteration_overhead"}


def test_every_required_platform_is_shipped_and_listed():
    names = [n for n, _ in list_platforms()]
    assert set(SHIPPED) <= set(names)
    assert names == sorted(names)
    assert all(desc for _, desc in list_platforms())


@pytest.mark.parametrize("name", SHIPPED)
def test_platform_loads_with_sources(name):
    p = load_platform(name)
    assert p.version == 1 and p.name == name
    assert p.source.strip() and p.compute.source.strip()
    for t in p.tiers:
        assert t.source.strip(), t.name
    for link in p.links:
        assert link.source.strip(), link.name
    ranks = [KIND_RANK[t.kind] for t in p.tiers]
    assert ranks == sorted(ranks)
    assert p.tiers[0].kind == "sram"
    assert p.tier_of_kind("dram") is not None
    store = p.tier_of_kind("ssd") or p.tier_of_kind("flash")
    assert store is not None and store.bw_curve, "every host has an SSD/flash with a curve"


def _walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, node


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quantity_in_the_file_has_a_unit(name):
    raw = yaml.safe_load((HWMODELS_DIR / f"{name}.yaml").read_text())
    seen = 0
    for path, value in _walk(raw):
        key = re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])
        if key in QUANTITY_KEYS or ".peak_flops." in path:
            seen += 1
            assert isinstance(value, str) and re.search(r"\d\s*[A-Za-z]", value), (path, value)
    assert seen > 20


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quantity_line_is_commented_or_in_a_sourced_block(name):
    # a quantity either carries an inline comment or sits in a curve/peak table whose
    # block comment and source: explain it
    lines = (HWMODELS_DIR / f"{name}.yaml").read_text().splitlines()
    for line in lines:
        s = line.strip()
        if re.match(r"^(read_bw|write_bw|capacity|bandwidth|latency|clock|sram_per_sm|l2):", s):
            assert "#" in s, f"{name}: uncommented quantity: {s}"


def test_h100_matches_the_datasheet():
    p = load_platform("h100_sxm")
    c = p.compute
    assert c.count == 8 and c.sm_count == 132
    assert c.peak("bf16") == pytest.approx(989.4e12)
    assert c.sram_per_sm == 228 * 1024 and c.l2 == 50 * 2**20
    assert c.sram_total == 228 * 1024 * 132
    hbm = p.tier("hbm")
    assert hbm.read_bw == pytest.approx(3.35e12) and hbm.capacity == 80 * 2**30 and hbm.count == 8
    assert p.link("nvlink").bandwidth == pytest.approx(450e9)
    assert p.link_between("hbm", "hbm").name == "nvlink"
    assert p.tier("dram").capacity == 2 * 2**40
    assert [link.name for link in p.path("hbm", "ssd")] == ["pcie", "nvme"]
    assert [link.name for link in p.path("ssd", "hbm")] == ["nvme", "pcie"]
    assert p.path("hbm", "hbm") == []


def test_h200_and_a100_match_the_datasheets():
    h200 = load_platform("h200_sxm")
    assert h200.tier("hbm").capacity == 141e9 and h200.tier("hbm").read_bw == pytest.approx(4.8e12)
    a100 = load_platform("a100_sxm_80gb")
    assert a100.compute.peak("bf16") == pytest.approx(312e12)
    assert a100.tier("hbm").read_bw == pytest.approx(2.039e12)
    assert a100.compute.sm_count == 108 and a100.compute.sram_per_sm == 164 * 1024
    assert a100.compute.l2 == 40 * 2**20
    assert a100.link("nvlink").bandwidth == pytest.approx(300e9)
    assert a100.link("pcie").bandwidth == pytest.approx(parse_bandwidth("31.5 GB/s"))


def test_lookups_and_errors():
    p = load_platform("h100_sxm")
    assert p.link_between("dram", "hbm") is p.link_between("hbm", "dram") is p.link("pcie")
    assert p.link_between("sram", "ssd") is None
    assert p.tier_of_kind("cxl") is None
    with pytest.raises(ConfigError, match="unknown tier 'l3'.*sram, hbm, dram, ssd"):
        p.tier("l3")
    with pytest.raises(ConfigError, match="unknown link 'cxl'"):
        p.link("cxl")
    with pytest.raises(ConfigError, match="no links connect"):
        p.path("sram", "hbm")
    with pytest.raises(ConfigError, match="no peak for dtype 'fp4'"):
        p.compute.peak("fp4")
    d = p.derived()
    assert d["tiers.hbm.capacity_total"] == 8 * 80 * 2**30
    assert d["compute.sram_total"] == p.compute.sram_total


def test_laptop_flash_is_the_llm_in_a_flash_setting():
    p = load_platform("laptop_flash")
    assert p.tier_of_kind("hbm") is None
    flash = p.tier("flash")
    assert flash.read_bw == pytest.approx(parse_bandwidth("6 GiB/s"))
    # bigger chunks -> higher throughput (Figure 2b's message), at every thread count
    for qd in (1, 8, 32):
        bws = [flash.bandwidth_at(parse_size(f"{k} KiB"), qd) for k in (4, 8, 16, 32)]
        assert all(a < b for a, b in zip(bws, bws[1:])), (qd, bws)
    assert [link.name for link in p.path("flash", "dram")] == ["flash_link"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_curves_are_monotone_and_capped(name):
    p = load_platform(name)
    sizes = [2 ** k for k in range(9, 23)]          # 512 B .. 4 MiB, beyond the tables
    for t in p.tiers:
        if not t.bw_curve:
            assert t.bandwidth_at(4096, 4) == t.read_bw
            continue
        prev_row = None
        for qd in (1, 2, 5, 8, 20, 32, 64, 100, 128, 512):
            row = [t.bandwidth_at(s, qd) for s in sizes]
            assert all(a <= b * (1 + 1e-12) for a, b in zip(row, row[1:])), (t.name, qd)
            assert max(row) <= t.read_bw
            if prev_row:
                assert all(a <= b * (1 + 1e-12) for a, b in zip(prev_row, row)), (t.name, qd)
            prev_row = row
        assert t.bandwidth_at(4096, 1, write=True) == t.write_bw
