"""Kernel timing: table interpolation, the analytic fallback, transfer to GPUs without tables,
and the closed-form property of decode iterations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memsim.ground.errors import ConfigError
from memsim.hwmodels import load_platform, load_profile, platform_path
from memsim.sim.timing import CostModel, IterationShape, KernelTimer, analytic_params, nearest_calibrated
from memsim.sim.timing.tables import GemmTable, GridTable
from memsim.workloads import load_model


def _gemm_df():
    rows = [(m, n, k, 1e-3 * (2.0 + m * n * k / 1e9)) for m in (1, 16, 256) for n in (1024, 4096)
            for k in (1024, 4096)]
    return pd.DataFrame(rows, columns=["m", "n", "k", "latency_ms"])


def test_gemm_table_is_exact_at_points_log_linear_between_and_nan_outside():
    df = _gemm_df()
    tab = GemmTable(df)
    for m, n, k, ms in df.itertuples(index=False):
        assert tab.seconds([m], n, k)[0] == pytest.approx(ms * 1e-3, rel=1e-12)
    # halfway in log m between 1 and 16 is the geometric mean of the two measurements
    a, b = tab.seconds([1, 16], 1024, 1024)
    assert tab.seconds([4], 1024, 1024)[0] == pytest.approx(np.sqrt(a * b), rel=1e-9)
    # halfway in log n between 1024 and 4096: geometric mean of the two weight shapes
    lo, hi = tab.seconds([16], 1024, 1024)[0], tab.seconds([16], 4096, 1024)[0]
    assert tab.seconds([16], 2048, 1024)[0] == pytest.approx(np.sqrt(lo * hi), rel=1e-9)
    assert np.isnan(tab.seconds([512], 1024, 1024)[0])          # m past the table
    assert np.isnan(tab.seconds([16], 8192, 1024)[0])           # n past the table


def test_grid_table_needs_all_four_corners():
    rows = [(8, 1, 128, "bfloat16", 0, b, s, 0.01 * b * s) for b in (1, 4) for s in (16, 64)
            if not (b == 4 and s == 64)]
    df = pd.DataFrame(rows, columns=["num_heads", "num_key_value_heads", "head_dim", "kv_cache_dtype",
                                     "window_size", "batch_size", "seq_len", "latency_ms"])
    g = GridTable(df, "seq_len")
    key = (8, 1, 128, "bfloat16", 0)
    assert g.seconds(key, 1, 16)[0] == pytest.approx(1.6e-4)
    assert np.isfinite(g.seconds(key, 1, 32)[0])                  # both corners at batch 1 exist
    assert np.isnan(g.seconds(key, 2, 32)[0])                     # needs (4, 64), not measured
    assert np.isnan(g.seconds((8, 2, 128, "bfloat16", 0), 1, 16)[0])


def test_shapes_outside_the_tables_fall_back_to_the_analytic_model_and_are_counted():
    t = KernelTimer(load_platform("h100_sxm"))
    inside = t.gemm(64, 4096, 4096)[0]
    assert t.fallbacks["gemm"] == 0
    outside = t.gemm(64, 262144, 4096)[0]                          # n beyond the measured 65536
    assert t.fallbacks["gemm"] == 1
    assert outside > 30 * inside                                   # 64x the weights, same physics
    t2 = KernelTimer(load_platform("h100_sxm"), use_tables=False)
    assert t2.kernels_dir is None and t2.gemm(64, 4096, 4096)[0] != inside


def test_decode_iteration_is_affine_in_kv_tokens_exactly():
    cost = CostModel(load_platform("h100_sxm"), load_model("llama-3.1-8b"))
    for n in (1, 7, 64, 256):
        a, b = cost.decode_affine(n)
        assert b > 0 and a > 0
        for s in (0, n * 100, n * 4096, n * 30000):
            assert cost.time(IterationShape(decode_seqs=n, decode_kv_tokens=s)) == a + b * s


def test_iteration_counts_prefill_chunks_separately():
    cost = CostModel(load_platform("h100_sxm"), load_model("llama-3.1-8b"))
    one = cost.time(IterationShape(prefill_tokens=4096, prefill_chunks=((0, 4096),), prefill_last_tokens=1))
    # the same tokens as a chunk after 12k cached tokens do far more attention work
    late = cost.time(IterationShape(prefill_tokens=4096, prefill_chunks=((12288, 4096),), prefill_last_tokens=1))
    assert late > 1.3 * one
    two = cost.time(IterationShape(prefill_tokens=4096, prefill_chunks=((0, 2048), (0, 2048)),
                                   prefill_last_tokens=2))
    assert two < one                                             # two short causal chunks: less work


def test_gpus_without_tables_transfer_from_the_named_calibrated_platform():
    h100, h200 = load_platform("h100_sxm"), load_platform("h200_sxm")
    p100, how100 = analytic_params(h100)
    p200, how200 = analytic_params(h200)
    assert "fitted" in how100 and "transferred from h100_sxm" in how200
    assert p200 == p100                                          # same clocks: nothing rescaled
    t100, t200 = KernelTimer(h100, use_tables=False), KernelTimer(h200, use_tables=False)
    # decode attention streams KV: H200's 4.8 TB/s beats H100's 3.35 TB/s on the same model
    assert t200.generation_attention(64, 8192, 32, 8, 128)[0] < 0.8 * t100.generation_attention(64, 8192, 32, 8, 128)[0]
    rtx = analytic_params(load_platform("rtx4090"))[1]
    assert "transferred from l40s" in rtx


SRC = "\n  source: NVIDIA H200 Tensor Core GPU datasheet (SXM column)"


def _h200_text(**edits) -> str:
    """h200_sxm.yaml's text without its timing block, with line replacements applied."""
    lines, out, skip = platform_path("h200_sxm").read_text().splitlines(), [], False
    for ln in lines:
        if ln.startswith("  timing:"):
            skip = True
            continue
        if skip and ln.startswith("    "):
            continue
        skip = False
        out.append(ln)
    text = "\n".join(out) + "\n"
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_a_users_part_without_a_timing_block_uses_the_nearest_calibrated_one(tmp_path):
    f = tmp_path / "hbm4_part.yaml"
    f.write_text(_h200_text(**{"name: h200_sxm": "name: hbm4_part", "read_bw: 4.8 TB/s": "read_bw: 8 TB/s",
                               "clock: 1.83 GHz": "clock: 2 GHz"}))
    plat = load_platform(f)
    assert plat.compute.timing is None
    ref = nearest_calibrated(plat)
    assert ref in {"h100_sxm", "a100_sxm_80gb", "l40s"}
    p, how = analytic_params(plat)
    assert "nearest" in how
    ref_p = analytic_params(load_platform(ref))[0]
    clock_ref = load_platform(ref).compute.clock
    assert p["gemm_kstep_s"] == pytest.approx(ref_p["gemm_kstep_s"] * clock_ref / 2.0e9)
    cost = CostModel(plat, load_model("llama-3.1-8b"))
    assert cost.time(IterationShape(decode_seqs=8, decode_kv_tokens=8000)) > 0


def test_timing_block_rejects_both_or_neither_source_of_parameters(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(_h200_text(**{SRC: "\n  timing:\n    cuda_graphs: true\n    source: me" + SRC}))
    with pytest.raises(ConfigError, match="exactly one"):
        load_platform(f)
    f.write_text(_h200_text(**{SRC: "\n  timing:\n    transfer_from: h100_sxm\n"
                                   "    kernels: somewhere\n    source: me" + SRC}))
    with pytest.raises(ConfigError, match="attention_kernel"):
        load_platform(f)


def test_profile_reader_names_the_file_and_the_missing_column(tmp_path):
    _gemm_df().drop(columns="k").to_csv(tmp_path / "gemm.csv", index=False)
    with pytest.raises(ConfigError, match=r"gemm.csv.*missing column\(s\) k"):
        load_profile(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope")


def test_shipped_calibrated_platforms_name_their_packed_tables():
    for name in ("h100_sxm", "a100_sxm_80gb", "l40s"):
        t = KernelTimer(load_platform(name))
        assert t.kernels_dir is not None and t.kernels_dir.is_dir(), name
        assert "fitted" in t.analytic_source


def test_an_edited_copy_of_a_shipped_file_keeps_its_tables(tmp_path):
    f = tmp_path / "my_h100.yaml"
    f.write_text(platform_path("h100_sxm").read_text().replace("name: h100_sxm", "name: my_h100"))
    t = KernelTimer(load_platform(f))
    assert t.kernels_dir is not None and t.kernels_dir.is_dir()
    assert t.gemm(1, 4096, 4096)[0] == KernelTimer(load_platform("h100_sxm")).gemm(1, 4096, 4096)[0]
