"""``memsim validate --kernels`` and ``memsim calibrate``: GPU kernel predictions against tables."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import memsim.validate as validate
from memsim.cli import main
from memsim.hwmodels import load_platform
from memsim.validate import kernelfit

from .conftest import make_calibration

SHIPPED = load_platform("h100_sxm").compute.timing


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    """A small CSV profile cut from the shipped H100 tables (a few weight shapes, one attention
    configuration, the all-reduces)."""
    folder = Path(load_platform("h100_sxm").file).parent / SHIPPED.kernels
    out = tmp_path_factory.mktemp("profile")
    g = pd.read_parquet(folder / "gemm.parquet")
    g[g["k"].isin([1024, 4096]) & (g["n"] >= 256)].to_csv(out / "gemm.csv", index=False)
    for kind in ("context_attention", "generation_attention"):
        d = pd.read_parquet(folder / f"{kind}.parquet")
        d = d[(d.num_heads == 32) & (d.num_key_value_heads == 8) & (d.head_dim == 128) & (d.window_size == 0)]
        d.to_csv(out / f"{kind}.csv", index=False)
    pd.read_parquet(folder / "all_reduce.parquet").to_csv(out / "all_reduce.csv", index=False)
    return out


def test_validate_kernels_json_has_exactly_the_promised_shape(profile, capsys):
    assert main(["validate", "--kernels", str(profile), "--hw", "h100_sxm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"hw", "ops"} and out["hw"] == "h100_sxm"
    assert set(out["ops"]) == {"gemm", "context_attention", "generation_attention", "all_reduce"}
    for v in out["ops"].values():
        assert set(v) == {"rows", "median_abs_rel_error", "p90_abs_rel_error"}
        assert v["rows"] > 0 and v["median_abs_rel_error"] < 0.01     # the shipped tables answer them


def test_no_tables_scores_only_the_held_out_split_and_writes_the_plot(profile, tmp_path, capsys):
    assert main(["validate", "--kernels", str(profile), "--hw", "h100_sxm", "--no-tables",
                 "--out", str(tmp_path)]) == 0
    rep = json.loads(capsys.readouterr().out)
    gemm = pd.read_csv(profile / "gemm.csv")
    assert rep["ops"]["gemm"]["rows"] == int(kernelfit.split("gemm", gemm).sum())
    assert rep["ops"]["gemm"]["analytic_rows"] == rep["ops"]["gemm"]["rows"]
    assert rep["ops"]["gemm"]["median_abs_rel_error"] > 1e-3      # no table lookups: a real model error
    assert (tmp_path / "kernels.html").stat().st_size > 10_000
    assert json.loads((tmp_path / "report.json").read_text())["hw"] == "h100_sxm"


def test_kernels_without_hw_and_json_without_kernels_are_exit_2(profile, capsys):
    assert main(["validate", "--kernels", str(profile)]) == 2
    assert "--hw" in capsys.readouterr().err
    assert main(["validate", "--json"]) == 2
    assert "--kernels" in capsys.readouterr().err


def test_calibrate_fits_reports_both_splits_and_writes_a_loadable_file(profile, tmp_path, capsys):
    small = tmp_path / "prof"
    small.mkdir()
    g = pd.read_csv(profile / "gemm.csv")
    g[(g["k"] == 4096) & (g["n"] >= 2048)].to_csv(small / "gemm.csv", index=False)
    (small / "all_reduce.csv").write_text((profile / "all_reduce.csv").read_text())
    out = tmp_path / "my_h100.yaml"
    assert main(["calibrate", "--kernels", str(small), "--hw", "h100_sxm", "--out", str(out), "--quiet"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep["ops"]) == {"gemm", "all_reduce"}
    assert rep["ops"]["gemm"]["train"]["rows"] + rep["ops"]["gemm"]["held_out"]["rows"] == len(
        pd.read_csv(small / "gemm.csv"))
    plat = load_platform(out)
    t = plat.compute.timing
    assert t.analytic is not None and "memsim calibrate" in t.source
    assert plat.compute.timing.analytic.launch_s == pytest.approx(rep["params"]["launch_s"], rel=1e-3)


def test_tiled_matmul_prediction_depends_on_the_tile():
    pred = validate.Predictor(make_calibration(gemm_loop_s=2e-9))
    t = {tile: pred.matmul(n=192, tile=tile).time_s for tile in (8, 16, 32, 64)}
    assert t[8] > t[16] > t[32] > t[64]
    assert t[8] - t[64] == pytest.approx(2e-9 * 192 ** 3 * (1 / 8 - 1 / 64), rel=0.2)


def test_calibrate_bad_inputs_are_one_line_exit_2(profile, tmp_path, capsys):
    assert main(["calibrate", "--kernels", str(tmp_path / "nope"), "--hw", "h100_sxm",
                 "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    assert main(["calibrate", "--kernels", str(profile), "--hw", "h100_sxm", "--out", str(tmp_path / "x.yaml"),
                 "--attention-kernel", "flash9"]) == 2
    assert "unknown attention kernel 'flash9'" in capsys.readouterr().err
