"""The package's public surface is what its docstring documents."""
import memsim.validate as validate


def test_all_is_exported():
    for name in validate.__all__:
        assert hasattr(validate, name), name
    assert {"calibrate", "write_host", "Predictor", "compare", "write_report"} <= set(validate.__all__)


def test_cases_are_at_least_thirty_and_fixed():
    quick, full = validate.cases(quick=True), validate.cases(quick=False)
    assert len(quick) >= 30 and len(full) > len(quick)
    assert validate.cases(quick=True) == quick
    kernels = {c.kernel for c in quick}
    assert kernels == {"stream", "pointer_chase", "matmul_tiled", "attention_naive", "attention_tiled",
                       "decode", "paged_decode"}
    sizes = [c.params["size_bytes"] for c in full if c.kernel == "stream"]
    assert min(sizes) == 16 * 1024 and max(sizes) == 1024 ** 3
