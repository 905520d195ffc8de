"""Sweeps ready to plot: numeric parameter columns, labels from swept values, metric-vs-parameter figures."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from memsim.cli import main
from memsim.reports._data import labels_from_dirs
from memsim.reports.sweep_report import sweep_figures
from memsim.studies.sweep import load_sweep, run_sweep

REPO = Path(__file__).resolve().parents[2]
SWEEP = {"base": str(REPO / "scenarios" / "quickstart.yaml"),
         "grid": {"workload.arrivals.rate": ["4 req/s", "8 req/s"], "kv.block_tokens": [16, 32]},
         "zip": {"workload.num_requests": [40]}}


def test_swept_quantities_stay_numeric_and_label_runs(tmp_path):
    run = run_sweep(load_sweep(dict(SWEEP), out=tmp_path / "o", base_dir=tmp_path), workers=1,
                    save_runs=True, progress=False)
    t = run.table
    assert pd.api.types.is_float_dtype(t["workload.arrivals.rate"])          # req/s, the base unit
    assert t["workload.arrivals.rate"].tolist() == [4.0, 4.0, 8.0, 8.0]
    assert set(t["workload.arrivals.rate (as written)"]) == {"4 req/s", "8 req/s"}
    assert pd.api.types.is_integer_dtype(t["kv.block_tokens"])
    assert "kv.block_tokens (as written)" not in t.columns                  # written as numbers already
    back = pd.read_parquet(tmp_path / "o" / "results.parquet")              # survives the dataset
    assert pd.api.types.is_float_dtype(back["workload.arrivals.rate"])
    labels = labels_from_dirs(sorted((tmp_path / "o" / "runs").iterdir()))
    assert sorted(labels) == sorted(f"rate={r}, block_tokens={b}, num_requests=40"
                                    for r in ("4 req/s", "8 req/s") for b in (16, 32))


def test_sweep_report_plots_each_metric_against_each_parameter(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({**SWEEP, "out": str(tmp_path / "o"), "show": ["ttft_p50_s", "throughput_tok_s"]}))
    assert main(["sweep", str(f), "--workers", "1", "--quiet"]) == 0
    page = (tmp_path / "o" / "report.html").read_text()
    for title in ("ttft_p50_s vs workload.arrivals.rate", "ttft_p50_s vs kv.block_tokens",
                  "throughput_tok_s vs workload.arrivals.rate", "throughput_tok_s vs kv.block_tokens"):
        assert title in page
    table = pd.read_parquet(tmp_path / "o" / "results.parquet")
    figs = sweep_figures(table, ["workload.arrivals.rate", "kv.block_tokens"], ["ttft_p50_s"])
    rate = figs["ttft_p50_s-vs-workload.arrivals.rate"]
    assert list(rate.layout.xaxis.ticktext) == ["4 req/s", "8 req/s"]     # ticks as written
    assert [tr.name for tr in rate.data] == ["kv.block_tokens=16", "kv.block_tokens=32"]
    assert all(list(tr.x) == [4.0, 8.0] for tr in rate.data)              # numeric x, in order
