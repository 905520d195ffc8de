"""``memsim validate``: flags, errors (exit 2, one line) and the files it writes."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import memsim.validate as validate
from memsim.cli import main


def test_bad_repeats_is_exit_2(capsys):
    assert main(["validate", "--repeats", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--repeats=0 must be at least 1" in err


def test_out_that_is_a_file_is_exit_2(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["validate", "--out", str(f)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_out_that_cannot_be_created_is_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["validate", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memsim: error: --out: cannot create") and err.count("\n") == 1


def test_only_unknown_kernel_is_exit_2_with_a_hint(capsys):
    assert main(["validate", "--only", "stream,atention_tiled"]) == 2
    err = capsys.readouterr().err
    assert "--only: unknown kernel 'atention_tiled' (did you mean 'attention_tiled'?)" in err


def test_only_keeps_the_named_kernels(monkeypatch, cal, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr(validate, "calibrate", lambda **kw: cal)

    def fake_compare(pred, **kw):
        seen["kernels"] = {c.kernel for c in kw["only"]}
        return _one_row(pred)
    monkeypatch.setattr(validate, "compare", fake_compare)
    assert main(["validate", "--quick", "--quiet", "--only", "decode, paged_decode",
                 "--out", str(tmp_path)]) == 0
    assert seen["kernels"] == {"decode", "paged_decode"}


def _one_row(pred):
    import numpy as np

    from memsim.validate.compare import COLUMNS, run_case
    row = run_case(validate.Case("stream", {"size_bytes": 32 * 1024}), pred, np.random.default_rng(0),
                   repeats=1)
    return pd.DataFrame([row], columns=COLUMNS)


@pytest.fixture
def fast_validate(monkeypatch, cal):
    """The command's wiring with the measuring swapped for a fixed host and two tiny cases."""
    monkeypatch.setattr(validate, "calibrate", lambda **kw: cal)
    real_compare = validate.compare
    only = [validate.Case("stream", {"size_bytes": 32 * 1024}),
            validate.Case("attention_tiled", {"n": 32, "d": 8, "block_rows": 8, "block_cols": 8})]
    monkeypatch.setattr(validate, "compare", lambda pred, **kw: real_compare(pred, **{**kw, "only": only}))
    return cal


def test_calibrate_only_writes_host_yaml(fast_validate, tmp_path, capsys):
    assert main(["validate", "--calibrate-only", "--quiet", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"host_yaml": str(tmp_path / "host.yaml")}
    assert (tmp_path / "host.yaml").exists() and (tmp_path / "calibration.json").exists()
    assert not (tmp_path / "validation.csv").exists()


def test_validate_writes_csv_html_and_summary(fast_validate, tmp_path, capsys):
    assert main(["validate", "--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["configs"] == 2 and summary["counts_exact"] is True
    assert "cuda" not in summary
    df = pd.read_csv(tmp_path / "validation.csv")
    for col in ("kernel", "params", "measured_s", "predicted_s", "rel_error", "measured_elems",
                "predicted_elems"):
        assert col in df.columns
    assert df.loc[df.kernel == "attention_tiled", "measured_elems"].iloc[0] == \
        df.loc[df.kernel == "attention_tiled", "predicted_elems"].iloc[0]
    assert (tmp_path / "validation.html").stat().st_size > 100_000
    assert "[2/2]" in captured.err


def test_cuda_flag_without_gpu_is_skipped_with_a_note(fast_validate, monkeypatch, tmp_path, capsys):
    from memsim.validate.kernels import cuda_attention
    monkeypatch.setattr(cuda_attention, "simulator_active", lambda: False)
    monkeypatch.setattr(cuda_attention, "cuda_ready", lambda: False)
    assert main(["validate", "--quick", "--cuda", "--repeats", "1", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["cuda"] == "skipped: no CUDA GPU"
    assert "--cuda: no CUDA GPU here" in captured.err


def test_cuda_flag_with_gpu_appends_measurements(fast_validate, monkeypatch, tmp_path, capsys):
    from memsim.validate import gpu
    from memsim.validate.kernels import cuda_attention
    monkeypatch.setattr(cuda_attention, "simulator_active", lambda: False)
    monkeypatch.setattr(cuda_attention, "cuda_ready", lambda: True)
    fake = pd.DataFrame([{"kernel": "paged_gather", "params": "{}", "measured_s": 1e-3,
                          "device": "Test GPU", "date": "2026-11-25"}], columns=gpu.MEASUREMENT_COLUMNS)
    monkeypatch.setattr(gpu, "measure", lambda **kw: fake)
    monkeypatch.setattr(gpu, "append_measurements", lambda df: tmp_path / "gpu.csv")   # not the repo
    assert main(["validate", "--quick", "--cuda", "--repeats", "1", "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out)["cuda"] == str(tmp_path / "gpu.csv")
    assert pd.read_csv(tmp_path / "o" / "gpu_measurements.csv")["device"].tolist() == ["Test GPU"]
