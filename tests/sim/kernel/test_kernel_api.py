"""The public surface of ``memsim.sim.kernel`` and the sweep's DataFrame."""
import memsim.sim.kernel as k
from memsim.sim.kernel import AttentionIO, attention_io, sweep

DOCUMENTED = {"attention_io", "simulate_tiles", "AttentionIO", "lower_bound", "predict_time",
              "sweep"}


def test_all_exports_the_documented_api():
    assert DOCUMENTED <= set(k.__all__)
    for name in k.__all__:
        assert hasattr(k, name), name


def test_result_fields():
    r = attention_io("flash2", n=128, d=16, sram_elems=2048)
    assert isinstance(r, AttentionIO)
    d = r.to_dict()
    for key in ("reads", "writes", "io", "io_bytes", "lower_bound", "ratio", "block_rows",
                "block_cols", "peak_sram_elems", "flops"):
        assert key in d


def test_sweep_columns_and_skips_sizes_that_do_not_fit():
    df = sweep(256, 64, [64, 512, 8192], ["flash2", "small_m"])
    assert list(df.columns[:7]) == ["algo", "n", "d", "m_elems", "io", "lower_bound", "ratio"]
    # flash2 needs 4d + 4 = 260 elements: no row at M = 64; small_m runs everywhere
    assert sorted(df[df.algo == "flash2"]["m_elems"]) == [512, 8192]
    assert sorted(df[df.algo == "small_m"]["m_elems"]) == [64, 512, 8192]
