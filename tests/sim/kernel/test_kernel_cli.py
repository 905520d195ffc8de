"""``memsim attention-io``: JSON output, --hw timing, auto, sweep files, one-line errors."""
import json

import pytest

from memsim.cli import main


def _run(capsys, *argv):
    try:
        rc = main(["attention-io", *argv])
    except SystemExit as e:     # a flag argparse itself refuses (its type= bound)
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_output(capsys):
    rc, out, _ = _run(capsys, "--n", "1024", "--d", "64", "--sram", "32 KiB", "--algo",
                      "flash2", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert obj["sram_elems"] == 16384                          # 32 KiB of bf16
    for key in ("reads", "writes", "io", "io_bytes", "lower_bound", "ratio", "block_rows",
                "block_cols", "peak_sram_elems"):
        assert key in obj
    assert obj["io"] == obj["reads"] + obj["writes"]
    assert "predicted_time_s" not in obj


def test_small_m_spelling_and_text_output(capsys):
    rc, out, _ = _run(capsys, "--n", "256", "--d", "64", "--sram-elems", "1024", "--algo", "small-m")
    assert rc == 0 and "small_m" in out and "ratio" in out


def test_hw_adds_predicted_time_and_auto_searches(capsys):
    pytest.importorskip("hwmodels")
    rc, out, _ = _run(capsys, "--n", "512", "--d", "64", "--hw", "h100_sxm", "--heads", "8",
                      "--json")
    assert rc == 0 and json.loads(out)["predicted_time_s"] > 0
    rc, out, _ = _run(capsys, "--n", "512", "--d", "64", "--hw", "h100_sxm", "--heads", "8",
                      "--algo", "auto", "--json")
    obj = json.loads(out)
    assert rc == 0 and obj["predicted_time_s"] > 0 and obj["algo"] in ("flash1", "flash2",
                                                                       "small_m", "naive",
                                                                       "chunked")


@pytest.mark.parametrize("argv,needle", [
    (["--n", "64", "--d", "8", "--sram", "1 KiB", "--algo", "flash3"], "--algo"),
    (["--n", "64", "--d", "8", "--sram", "12"], "--sram"),
    (["--n", "64", "--d", "8"], "--sram"),
    (["--n", "0", "--d", "8", "--sram-elems", "100"], "--n"),
    (["--n", "64", "--d", "8", "--sram-elems", "100", "--dtype", "fp64"], "--dtype"),
    (["--n", "64", "--d", "64", "--sram-elems", "100", "--algo", "flash1"], "too small"),
    (["--n", "64", "--d", "8", "--sram-elems", "1000", "--out", "x.csv"], "--out"),
])
def test_bad_flags_are_one_line_exit_2(capsys, argv, needle):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("memsim") and "error:" in err and needle in err


def test_sweep_writes_csv_and_html(capsys, tmp_path):
    csv = tmp_path / "io.csv"
    rc, _, _ = _run(capsys, "--sweep", "--n", "256", "--d", "16", "--out", str(csv))
    assert rc == 0
    import pandas as pd
    df = pd.read_csv(csv)
    assert set(df["algo"]) == {"naive", "flash1", "flash2", "small_m", "chunked"}
    html = tmp_path / "io.html"
    rc, _, _ = _run(capsys, "--sweep", "--n", "256", "--d", "16", "--out", str(html))
    assert rc == 0 and html.read_text().count("lower bound") >= 1
    rc, _, err = _run(capsys, "--sweep", "--n", "256", "--d", "16", "--out", str(tmp_path / "x.png"))
    assert rc == 2 and "--out" in err
