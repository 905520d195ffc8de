"""One real, minimal run: calibrate this machine, time three tiny kernels, write the report.

The only test that measures anything; the probe sizes are cut down so it stays
well under 20 s on a busy 2-core machine.  It checks structure, never speed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memsim.validate import Case, Predictor, calibrate, compare, summarize, write_host, write_report

MiB = 1024 ** 2


def test_minimal_real_calibration_and_comparison(tmp_path):
    cal = calibrate(quick=True, rng=np.random.default_rng(0), repeats=1, max_probe_bytes=16 * MiB)
    names = [lv.name for lv in cal.levels]
    assert names[-1] == "dram" and names[0].startswith("l")
    for lv in cal.levels:
        assert lv.read_bytes_per_s > 0 and lv.latency_s > 0 and 0.0 <= lv.overlap <= 1.0
    assert all(cal.rates[k] > 0 for k in ("gemm_flop_per_s", "attention_flop_per_s", "decode_flop_per_s"))
    path = write_host(cal, tmp_path)
    hwmodels = pytest.importorskip("hwmodels", reason="hwmodels loader not present")
    hwmodels.load_platform(path)

    only = [Case("stream", {"size_bytes": 64 * 1024}),
            Case("pointer_chase", {"size_bytes": 256 * 1024}),
            Case("attention_tiled", {"n": 64, "d": 16, "block_rows": 16, "block_cols": 8})]
    df = compare(Predictor(cal), quick=True, repeats=1, only=only)
    assert list(df["kernel"]) == ["stream", "pointer_chase", "attention_tiled"]
    assert (df["measured_s"] > 0).all() and (df["predicted_s"] > 0).all()
    s = summarize(df)
    assert s["counted_configs"] == 1 and s["counts_exact"] is True
    html = write_report(tmp_path / "validation.html", df, cal, s, command="test").read_text()
    from plotly.offline import get_plotlyjs
    assert html.count(get_plotlyjs()[:300]) == 1                  # plotly.js embedded once
    assert "<script src" not in html                               # nothing fetched from the network
    assert isinstance(pd.read_csv(write_csv(df, tmp_path)), pd.DataFrame)


def write_csv(df, folder):
    path = folder / "validation.csv"
    df.to_csv(path, index=False)
    return path
