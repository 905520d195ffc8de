"""Stored GPU measurements are read back and predicted from the matching platform."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from memsim.validate import gpu


def test_match_platform():
    assert gpu.match_platform("NVIDIA H100 80GB HBM3") == "h100_sxm"
    assert gpu.match_platform("NVIDIA H200") == "h200_sxm"
    assert gpu.match_platform("Tesla T4") == ""


def test_gpu_cases_cover_tiles_and_block_sizes():
    cases = gpu.gpu_cases(quick=True)
    assert {k for k, _ in cases} == {"attention_tiled", "paged_gather", "paged_decode"}
    assert sorted({p["block_tokens"] for k, p in cases if k == "paged_decode"}) == [16, 32, 64, 128, 256, 512]


def _row(**kw):
    base = {"kernel": "attention_tiled", "params": json.dumps({"n": 1024, "d": 64, "block_rows": 64,
                                                                "block_cols": 64}),
            "measured_s": 1e-4, "measured_elems": 0, "device": "NVIDIA H100 80GB HBM3",
            "hwmodel": "h100_sxm", "compute_capability": "9.0", "driver": "12.4",
            "sm_clock_hz": 1980000000, "mem_clock_hz": 2619000000, "numba_version": "0.68.1",
            "date": "2026-11-25"}
    base.update(kw)
    return base


def test_append_and_compare_stored(tmp_path):
    pytest.importorskip("hwmodels", reason="hwmodels loader not present")
    pytest.importorskip("memsim.sim.kernel", reason="memsim.sim.kernel not present")
    df = pd.DataFrame([_row(), _row(kernel="paged_decode", measured_elems=None,
                                    params=json.dumps({"heads": 8, "n": 4096, "d": 128, "block_tokens": 16})),
                       _row(hwmodel="")], columns=gpu.MEASUREMENT_COLUMNS)
    path = gpu.append_measurements(df, tmp_path)
    assert path.name == "nvidia-h100-80gb-hbm3-2026-11-25.csv"
    gpu.append_measurements(df.iloc[:1], tmp_path)            # appended, header not repeated
    assert len(pd.read_csv(path)) == 4
    got = gpu.compare_stored(tmp_path)
    assert len(got) == 3                                      # the row without a hwmodel is skipped
    assert set(got["kernel"]) == {"gpu:attention_tiled", "gpu:paged_decode"}
    from memsim.hwmodels import load_platform
    pred, elems = gpu.predict_gpu_row("attention_tiled", json.loads(_row()["params"]),
                                      load_platform("h100_sxm"))
    assert got["predicted_s"].iloc[0] == pytest.approx(pred) and elems > 0
    assert got["rel_error"].iloc[0] == pytest.approx((pred - 1e-4) / 1e-4)


def test_measure_without_gpu_is_a_config_error():
    from memsim.validate.kernels.cuda_attention import cuda_ready
    if cuda_ready():
        pytest.skip("a GPU (or the simulator) is present here")
    from memsim.ground.errors import ConfigError
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        gpu.measure(quick=True, repeats=1)
