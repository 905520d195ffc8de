"""The weights: and experts: scenario sections: defaults, one-line errors, resolving against hardware."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError, TraceError
from memsim.ground.schema import validate
from memsim.hwmodels import load_platform
from memsim.sim.weights_config import ExpertsConfig, WeightsConfig, resolve_experts, resolve_placement
from memsim.workloads import load_model
from memsim.workloads.experts import write_expert_trace


@pytest.fixture(scope="module")
def l40s():
    return load_platform("l40s")


@pytest.fixture(scope="module")
def mixtral():
    return load_model("mixtral-8x7b")


def weights(data):
    return validate(WeightsConfig, data, file="s.yaml", prefix="weights")


def experts(data):
    return validate(ExpertsConfig, data, file="s.yaml", prefix="experts")


def one_line(fn, *args, match, **kw):
    with pytest.raises(ConfigError, match=match) as e:
        fn(*args, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_weights_defaults_to_all_in_hbm():
    w = weights({})
    assert w.placement is None and w.prefetch_depth == 1
    p = resolve_placement(w, load_platform("h100_sxm"), load_model("llama-3.1-8b"), batch=1,
                          prompt_len=1, gen_len=1)
    assert p.fractions == (("hbm", 1.0),)


def test_a_placement_over_100_percent_is_one_line_at_load():
    msg = one_line(weights, {"placement": {"hbm": "60%", "dram": "50%"}},
                   match=r"^s\.yaml: weights\.placement: fractions sum to 110%; they must sum to 100%$")
    assert msg
    one_line(weights, {"placement": {"hbm": "6O%"}}, match=r"weights\.placement.*'6O%' is not a percentage")
    one_line(weights, {"placement": "lp"}, match=r"weights\.placement")
    one_line(weights, {"prefetch_depth": -1}, match=r"weights\.prefetch_depth")


def test_placement_resolves_against_the_platform(l40s, mixtral):
    h100, llama = load_platform("h100_sxm"), load_model("llama-3.1-70b")
    p = resolve_placement(weights({"placement": {"hbm": "60%", "dram": "40%"}}), h100, llama,
                          batch=1, prompt_len=512, gen_len=64)
    assert p.fractions == (("hbm", 0.6), ("dram", 0.4))
    one_line(resolve_placement, weights({"placement": {"hbm": "60%", "cxl": "40%"}}), h100, llama,
             batch=1, prompt_len=512, gen_len=64,
             match=r"^weights\.placement\.cxl: unknown tier 'cxl'; weights may live in: hbm, dram, ssd, remote$")
    lp = resolve_placement(weights({"placement": "flexgen", "flexgen": {"batch": 4}}), h100, llama,
                           batch=64, prompt_len=512, gen_len=64)
    assert lp.source == "flexgen" and lp.fraction("hbm") > 0.5


def test_experts_defaults_and_policy_names_checked_at_load():
    e = experts({"cache": {"capacity": 3}})
    assert e.tier == "dram" and e.cache.eviction == "lru" and e.prefetch == "none"
    assert e.router.skew == 0 and e.trace is None
    one_line(experts, {"cache": {"capacity": 3, "eviction": "lruu"}},
             match=r"experts\.cache\.eviction: unknown eviction policy 'lruu' \(did you mean 'lru'\?\)")
    one_line(experts, {"cache": {"capacity": 3}, "prefetch": "lookahed"},
             match=r"experts\.prefetch: unknown expert_prefetch policy 'lookahed' \(did you mean 'lookahead'\?\)")
    one_line(experts, {"cache": {"capacity": 3}, "prefetch": {"name": "lookahead", "dept": 2}},
             match=r"has no parameter 'dept'")
    one_line(experts, {"cache": {"capacity": 3}, "router": {"skew": 1}, "trace": "x.csv"},
             match=r"experts\.trace: give router or trace, not both")
    one_line(experts, {"cache": {"capacity": 3}, "router": {"correlation": 2}},
             match=r"experts\.router\.correlation")
    one_line(experts, {"cache": {}}, match=r"experts\.cache\.capacity: required field is missing")
    one_line(experts, {"cache": {"capacity": "0 GiB"}}, match=r"experts\.cache\.capacity: .* must be > 0")


def test_an_expert_cache_larger_than_the_experts_is_one_line(l40s, mixtral):
    rng = np.random.default_rng(0)
    one_line(resolve_experts, experts({"cache": {"capacity": 9}}), l40s, mixtral, seed_rng=rng,
             match=r"^experts\.cache\.capacity: capacity 9 exceeds the 8 experts of a layer$")
    one_line(resolve_experts, experts({"cache": {"capacity": "100 GiB"}}), l40s, mixtral, seed_rng=rng,
             match=r"^experts\.cache\.capacity: 100 GiB holds 304 experts; the model has only 256")
    one_line(resolve_experts, experts({"cache": {"capacity": 4}}), l40s, mixtral, seed_rng=rng,
             hbm_free_bytes=20 * 2**30, match=r"experts\.cache\.capacity: the expert cache \(42\.00 GiB\) exceeds")


def test_an_unknown_tier_is_one_line(l40s, mixtral):
    rng = np.random.default_rng(0)
    one_line(resolve_experts, experts({"cache": {"capacity": 2}, "tier": "cxl"}), l40s, mixtral, seed_rng=rng,
             match=r"^experts\.tier: unknown tier 'cxl'; tiers: sram, hbm, dram, ssd$")
    one_line(resolve_experts, experts({"cache": {"capacity": 2}, "tier": "hbm"}), l40s, mixtral, seed_rng=rng,
             match=r"^experts\.tier: tier 'hbm' is hbm; experts are offloaded to a tier below HBM$")
    one_line(resolve_experts, experts({"cache": {"capacity": 2}}), l40s, load_model("llama-3.1-8b"),
             seed_rng=rng, match=r"^experts: model llama-3.1-8b is dense")


def test_resolve_draws_the_routing_or_reads_the_trace(tmp_path, l40s, mixtral):
    cfg = experts({"cache": {"capacity": "24 GiB", "eviction": "s3fifo"}, "router": {"skew": 1, "tokens": 64},
                   "prefetch": "lookahead"})
    s = resolve_experts(cfg, l40s, mixtral, seed_rng=np.random.default_rng(1))
    assert s.routing.shape == (64, 32, 2) and s.expert_bytes == 3 * 4096 * 14336 * 2
    assert s.cache_bytes <= 24 * 2**30 < s.cache_bytes + s.expert_bytes
    assert s.link_bytes_per_s == pytest.approx(31.5e9) and s.prefetch == "lookahead"
    again = resolve_experts(cfg, l40s, mixtral, seed_rng=np.random.default_rng(1))
    assert np.array_equal(s.routing, again.routing)
    write_expert_trace(tmp_path / "t.csv", s.routing[:5])
    t = resolve_experts(experts({"cache": {"capacity": 2}, "trace": "t.csv"}), l40s, mixtral,
                        seed_rng=np.random.default_rng(0), base_dir=tmp_path)
    assert np.array_equal(t.routing, s.routing[:5])
    with pytest.raises(TraceError, match="layer 1 must lie in 0..0"):
        resolve_experts(experts({"cache": {"capacity": 2}, "trace": "t.csv"}), l40s,
                        mixtral.model_copy(update={"layers": 1}), seed_rng=np.random.default_rng(0),
                        base_dir=tmp_path)
