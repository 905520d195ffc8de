"""Bad hardware YAML through ``memsim hw show FILE`` and as a scenario's ``platform:``.

Every shipped platform is a starting point; each case breaks one field (wrong
type, wrong unit, negative/zero/huge, NaN/inf, unknown key at every level,
missing required field, bad tier name in a link).  The one error line must name
the hardware file and the field.
"""
from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import tiny_scenario

from memsim.hwmodels import HWMODELS_DIR

BASE = yaml.safe_load((HWMODELS_DIR / "h100_sxm.yaml").read_text())
SHIPPED = sorted(p.stem for p in HWMODELS_DIR.glob("*.yaml"))


def _set(d, path, value):
    parts = path.split(".")
    for p in parts[:-1]:
        d = d[int(p)] if p.isdigit() else d[p]
    last = parts[-1]
    if value is None:
        del d[int(last) if last.isdigit() else last]
    elif last.isdigit():
        d[int(last)] = value
    else:
        d[last] = value


def _loc(path):
    out = ""
    for p in path.split("."):
        out += f"[{p}]" if p.isdigit() else ("." if out else "") + p
    return out


# (dotted path, value (None: delete), needle; None: the path)
CASES = [
    ("bogus", 1, None), ("compute.bogus", 1, None), ("compute.efficiency.bogus", 0.5, None),
    ("compute.peak_flops.bogus", "1 TFLOP/s", None), ("tiers.1.bogus", 1, None),
    ("links.0.bogus", 1, None), ("tiers.3.bw_curve.0.bogus", 1, None),
    ("name", None, None), ("compute", None, None), ("tiers", None, None), ("compute.count", "eight", None),
    ("tiers.1.capacity", None, None), ("tiers.1.read_bw", None, None), ("links.0.bandwidth", None, None),
    ("tiers.1.capacity", "80 GB/s", None), ("tiers.1.capacity", 80, None), ("tiers.1.capacity", "-80 GiB", None),
    ("tiers.1.capacity", float("nan"), None), ("tiers.1.capacity", float("inf"), None),
    ("tiers.1.capacity", "1e400 GiB", None), ("tiers.1.read_bw", "0 TB/s", None),
    ("tiers.1.read_bw", "-3 TB/s", None), ("tiers.1.read_bw", "3.35 TB", None),
    ("tiers.1.read_bw", "inf TB/s", None), ("tiers.1.read_bw", "nan TB/s", None),
    ("tiers.1.latency", "500 GB", None), ("tiers.1.latency", "-1 ns", None),
    ("tiers.1.latency", "fast", None), ("tiers.1.count", 0, None), ("tiers.1.count", -1, None),
    ("tiers.1.count", 1.5, None), ("tiers.1.kind", "vram", None), ("tiers.1.name", 7, None),
    ("tiers.1.granularity", "0 B", None), ("tiers.1.parallelism", 0, None),
    ("links.0.between", ["hbm", "host"], "links[0].between"), ("links.0.between", ["hbm"], None),
    ("links.0.between", "hbm", None), ("links.0.latency", "1 GB", None),
    ("links.0.duplex", "triple", None), ("links.0.count", 0, None), ("links.0.bandwidth", "63 GB", None),
    ("compute.peak_flops.bf16", "989 TB/s", None), ("compute.peak_flops.bf16", "-1 TFLOP/s", None),
    ("compute.peak_flops.bf16", 989, None), ("compute.peak_flops.bf16", "nan TFLOP/s", None),
    ("compute.efficiency.gemm", 0, None), ("compute.efficiency.gemm", 1.5, None),
    ("compute.efficiency.gemm", float("nan"), None), ("compute.sm_count", 0, None),
    ("compute.sram_per_sm", "228 KiB/s", None), ("compute.clock", "1.83 GB", None),
    ("compute.clock", "-1 GHz", None), ("tiers.3.bw_curve.0.queue_depth", 0, None),
    ("tiers.3.bw_curve.0.read_bw", "70 GB/s", None), ("version", "one", None),
    ("tiers", [], "tiers"), ("links", "none", "links"),
]


def _id(c):
    return f"{c[0]}={c[1]!r}"[:50]


@pytest.mark.parametrize("path,value,needle", CASES, ids=[_id(c) for c in CASES])
def test_bad_hardware_field_hw_show(tmp_path, cli_error, path, value, needle):
    data = copy.deepcopy(BASE)
    _set(data, path, value)
    f = tmp_path / "bad_hw.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    cli_error(["hw", "show", f], "bad_hw.yaml", needle or _loc(path), family="hardware")


@pytest.mark.parametrize("path,value,needle", CASES[::4], ids=[_id(c) for c in CASES[::4]])
def test_bad_hardware_field_in_a_scenario(tmp_path, cli_error, path, value, needle):
    data = copy.deepcopy(BASE)
    _set(data, path, value)
    f = tmp_path / "bad_hw.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    scen = tiny_scenario()
    scen["platform"] = str(f)
    s = tmp_path / "scen.yaml"
    s.write_text(yaml.safe_dump(scen))
    cli_error(["run", s], "bad_hw.yaml", needle or _loc(path), family="hardware")


@pytest.mark.parametrize("text,needle", [("", "mapping"), ("[1, 2]", "mapping"), ("a: [", "YAML"),
                                          ("name: x\n", "required")])
def test_bad_hardware_file(tmp_path, cli_error, text, needle):
    f = tmp_path / "bad_hw.yaml"
    f.write_text(text)
    cli_error(["hw", "show", f], "bad_hw.yaml", family="hardware")


def test_non_utf8_and_missing_hardware(tmp_path, cli_error):
    f = tmp_path / "bad_hw.yaml"
    f.write_bytes(yaml.safe_dump(BASE).encode() + b"description: \xff\n")
    cli_error(["hw", "show", f], "bad_hw.yaml", family="hardware")
    cli_error(["hw", "show", tmp_path / "absent_hw.yaml"], "absent_hw.yaml", family="hardware")
    cli_error(["hw", "show", "no_such_platform"], "no_such_platform", family="hardware")


def _mapping_paths(d, prefix=""):
    out = [prefix] if isinstance(d, dict) else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _mapping_paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _mapping_paths(v, f"{prefix}.{i}")
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plat=st.sampled_from(SHIPPED), data=st.data(),
       key=st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=3, max_size=10))
def test_unknown_key_in_any_shipped_platform(tmp_path, cli_error, plat, data, key):
    hw = yaml.safe_load((HWMODELS_DIR / f"{plat}.yaml").read_text())
    where = data.draw(st.sampled_from(_mapping_paths(hw)))
    node = hw
    for p in filter(None, where.split(".")):
        node = node[int(p)] if p.isdigit() else node[p]
    key = "zz" + key  # never a real field name
    node[key] = 1
    f = tmp_path / "bad_hw.yaml"
    f.write_text(yaml.safe_dump(hw, sort_keys=False))
    cli_error(["hw", "show", f], "bad_hw.yaml", key, family="hardware")
