"""The public surface the engine codes against: names in ``__all__`` and their methods."""
from __future__ import annotations

import memsim.hwmodels as hwmodels
import memsim.workloads.model as wm


def test_hwmodels_all_matches_the_documented_api():
    documented = {"load_platform", "list_platforms", "Platform", "Tier", "Link", "Compute"}
    assert documented <= set(hwmodels.__all__)
    for name in hwmodels.__all__:
        assert hasattr(hwmodels, name), name


def test_platform_tier_link_methods_exist():
    for meth in ("tier", "tier_of_kind", "link", "link_between", "path", "derived"):
        assert callable(getattr(hwmodels.Platform, meth))
    assert callable(hwmodels.Tier.bandwidth_at)
    assert set(hwmodels.Tier.model_fields) == {
        "name", "kind", "capacity", "count", "read_bw", "write_bw", "latency", "granularity",
        "parallelism", "energy_per_byte", "bw_curve", "source"}
    assert set(hwmodels.Link.model_fields) == {
        "name", "between", "bandwidth", "latency", "duplex", "count", "source"}
    assert set(hwmodels.Compute.model_fields) == {
        "name", "count", "peak_flops", "sm_count", "sram_per_sm", "l2", "clock", "efficiency",
        "iteration_overhead", "timing", "source"}


def test_model_api():
    assert {"load_model", "list_models", "ModelSpec"} <= set(wm.__all__)
    m = wm.load_model("qwen2.5-7b")
    for attr in ("params_total", "params_active", "weight_bytes", "dtype_bytes", "kv_dtype_bytes",
                 "kv_bytes_per_token", "linear_flops_per_token", "attn_flops_per_token_ctx",
                 "expert_bytes", "dense_bytes"):
        assert isinstance(getattr(m, attr), int), attr
    assert isinstance(m.prefill_flops(16, 4), int) and isinstance(m.decode_flops(100), int)
