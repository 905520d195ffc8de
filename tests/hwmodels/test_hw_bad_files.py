"""Bad hardware files: one ConfigError naming the file and the field, never a traceback."""
from __future__ import annotations

import copy

import pytest
import yaml

from memsim.ground.errors import ConfigError
from memsim.hwmodels import HWMODELS_DIR, load_platform

BASE = yaml.safe_load((HWMODELS_DIR / "h100_sxm.yaml").read_text())


def _write(tmp_path, data, name="bad.yaml"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return p


def _mutated(fn):
    data = copy.deepcopy(BASE)
    fn(data)
    return data


def _error(tmp_path, data) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as e:
        load_platform(path)
    msg = str(e.value)
    assert msg.startswith(str(path) + ": "), msg
    assert "\n" not in msg
    return msg


def test_a_copy_of_a_shipped_file_loads(tmp_path):
    assert load_platform(_write(tmp_path, BASE)).name == "h100_sxm"


@pytest.mark.parametrize("mutate, field, problem", [
    (lambda d: d["tiers"][1].update(read_bw="3.35 TB"), "tiers[1].read_bw", "is a size"),
    (lambda d: d["tiers"][1].update(read_bw=3.35e12), "tiers[1].read_bw", "has no unit"),
    (lambda d: d["tiers"][1].update(latency="500 GB"), "tiers[1].latency", "expected a time"),
    (lambda d: d["tiers"][1].update(bandwidth="1 GB/s"), "tiers[1].bandwidth", "unknown key"),
    (lambda d: d.update(platform="x"), "platform", "unknown key"),
    (lambda d: d["tiers"][2].pop("source"), "tiers[2].source", "required field is missing"),
    (lambda d: d["links"][0].pop("source"), "links[0].source", "required field is missing"),
    (lambda d: d["compute"].pop("source"), "compute.source", "required field is missing"),
    (lambda d: d["tiers"][2].update(source=""), "tiers[2].source", "at least 1 character"),
    (lambda d: d["links"][1].update(between=["hbm", "host"]), "links[1].between[1]",
     "unknown tier 'host'"),
    (lambda d: d["tiers"].reverse(), "tiers[1].kind", "nearest compute first"),
    (lambda d: d["tiers"][2].update(name="hbm"), "tiers[2].name", "duplicate tier name"),
    (lambda d: d["links"][2].update(name="pcie"), "links[2].name", "duplicate link name"),
    (lambda d: d["tiers"][1].update(kind="vram"), "tiers[1].kind", "Input should be"),
    (lambda d: d["tiers"][1].update(capacity="0 GiB"), "tiers[1].capacity", "must be a finite"),
    (lambda d: d["tiers"][1].update(count=0), "tiers[1].count", "greater than or equal to 1"),
    (lambda d: d.update(version=2), "version", "Input should be 1"),
    (lambda d: d.pop("version"), "version", "required field is missing"),
    (lambda d: d["compute"]["efficiency"].update(gemm=1.5), "compute.efficiency.gemm",
     "must be in (0, 1]"),
    (lambda d: d["compute"]["peak_flops"].update(fp12="1 TFLOP/s"), "compute.peak_flops.fp12",
     "Input should be"),
    (lambda d: d["compute"]["peak_flops"].update(bf16="989 TB/s"), "compute.peak_flops.bf16",
     "is a bandwidth"),
    (lambda d: d["tiers"][3]["bw_curve"][0].update(read_bw="7 GB/s"),
     "tiers[3].bw_curve[0].read_bw", "exceeds the tier's read_bw"),
    (lambda d: d["tiers"][3]["bw_curve"][0].update(request_size="4 KiB/s"),
     "tiers[3].bw_curve[0].request_size", "is a bandwidth"),
    (lambda d: d["tiers"][3]["bw_curve"].append(dict(d["tiers"][3]["bw_curve"][0])),
     "tiers[3].bw_curve[20]", "duplicate point"),
])
def test_bad_field_names_file_and_field(tmp_path, mutate, field, problem):
    msg = _error(tmp_path, _mutated(mutate))
    assert f": {field}" in msg, msg
    assert problem in msg, msg


def test_unknown_key_suggests_the_spelling(tmp_path):
    msg = _error(tmp_path, _mutated(lambda d: d["tiers"][1].update(readbw="1 GB/s")))
    assert "did you mean 'read_bw'" in msg


def test_malformed_yaml_names_the_line(tmp_path):
    text = (HWMODELS_DIR / "h100_sxm.yaml").read_text().replace("  - name: hbm", "  - name: [hbm")
    msg = _error(tmp_path, text)
    assert "invalid YAML" in msg and "line " in msg


def test_top_level_must_be_a_mapping(tmp_path):
    assert "expected a mapping" in _error(tmp_path, "- just\n- a list\n")


def test_missing_file_and_unknown_name():
    with pytest.raises(ConfigError, match="file not found"):
        load_platform("no/such/platform.yaml")
    with pytest.raises(ConfigError, match=r"unknown platform 'h100'.*did you mean 'h100_sxm'"):
        load_platform("h100")
