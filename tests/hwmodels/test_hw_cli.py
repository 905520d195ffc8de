"""``memsim hw`` and ``memsim schema``: tables, JSON, and one-line errors with status 2."""
from __future__ import annotations

import json
import sys

import pytest

from memsim.cli import main
from memsim.hwmodels import list_platforms


def test_hw_list(capsys):
    assert main(["hw", "list"]) == 0
    out = capsys.readouterr().out
    for name, _ in list_platforms():
        assert name in out


def test_hw_list_json(capsys):
    assert main(["hw", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in data["platforms"]} == {n for n, _ in list_platforms()}


def test_hw_show_table_has_units_and_sources(capsys):
    assert main(["hw", "show", "h100_sxm"]) == 0
    out = capsys.readouterr().out
    for s in ("989.4 TFLOP/s", "3.35 TB/s", "80 GiB", "450 GB/s", "nvlink", "hbm <-> dram",
              "ssd read bandwidth vs request size", "sources:", "PM1733"):
        assert s in out, s


def test_hw_show_json_keeps_given_and_derived_apart(capsys):
    assert main(["hw", "show", "a100_sxm_80gb", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["compute"]["sm_count"] == 108
    assert data["tiers"][1]["read_bw"] == pytest.approx(2.039e12)
    assert "sram_total" not in data["compute"]
    assert data["derived"]["compute.sram_total"] == 108 * 164 * 1024


def test_hw_show_path(tmp_path, capsys):
    from memsim.hwmodels import HWMODELS_DIR
    p = tmp_path / "mine.yaml"
    p.write_text((HWMODELS_DIR / "rtx4090.yaml").read_text())
    assert main(["hw", "show", str(p)]) == 0
    assert "GeForce RTX 4090" in capsys.readouterr().out


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("memsim: error: "), err
    assert "Traceback" not in err
    return err


def test_hw_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    assert "unknown platform 'nope'" in _one_line_error(capsys, ["hw", "show", "nope"])
    bad = tmp_path / "bad.yaml"
    from memsim.hwmodels import HWMODELS_DIR
    bad.write_text((HWMODELS_DIR / "h100_sxm.yaml").read_text()
                   .replace("read_bw: 3.35 TB/s", "read_bw: 3.35 TB"))
    err = _one_line_error(capsys, ["hw", "show", str(bad)])
    assert str(bad) in err and "tiers[1].read_bw" in err and "is a size" in err
    assert "choose a subcommand" in _one_line_error(capsys, ["hw"])


def test_hw_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["hw", "show"])
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_schema_hardware(capsys):
    assert main(["schema", "hardware"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert set(s["properties"]) == {"version", "name", "description", "source", "compute",
                                    "tiers", "links"}
    tier = s["$defs"]["Tier"]
    assert tier["additionalProperties"] is False
    assert "source" in tier["required"] and "read_bw" in tier["required"]
    assert "string" in json.dumps(tier["properties"]["read_bw"])


def test_schema_model(capsys):
    assert main(["schema", "model"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert "kv_heads" in s["properties"]


def test_schema_scenario_missing_gives_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "memsim.sim.kinds", None)      # import of the scenario union fails
    err = _one_line_error(capsys, ["schema", "scenario"])
    assert "scenario schema not available" in err


def test_schema_bad_kind_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["schema", "nonsense"])
    assert e.value.code == 2
