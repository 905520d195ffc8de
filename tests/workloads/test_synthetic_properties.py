"""Invariants of the synthetic generator over random specs (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memsim.workloads import open_workload

token_dists = st.one_of(
    st.builds(lambda v: {"dist": "fixed", "value": v}, st.integers(1, 3000)),
    st.builds(lambda lo, span: {"dist": "uniform", "low": lo, "high": lo + span},
              st.integers(1, 2000), st.integers(0, 2000)),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": m, "sigma": s},
              st.floats(1, 5000), st.floats(0, 2.5)),
    st.builds(lambda m, s: {"dist": "normal", "mean": m, "std": s},
              st.floats(1, 5000), st.floats(0, 3000)),
)
time_dists = st.one_of(
    st.builds(lambda v: {"dist": "fixed", "value": f"{v} s"}, st.floats(0, 100)),
    st.builds(lambda m: {"dist": "exponential", "mean": f"{m} s"}, st.floats(0.01, 100)),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": f"{m} s", "sigma": s},
              st.floats(0.01, 100), st.floats(0, 2)),
)
arrivals = st.one_of(
    st.builds(lambda r: {"process": "poisson", "rate": f"{r} req/s"}, st.floats(0.1, 1000)),
    st.builds(lambda r, cv: {"process": "gamma", "rate": f"{r} req/s", "cv": cv},
              st.floats(0.1, 1000), st.floats(0.1, 5)),
    st.builds(lambda r: {"process": "uniform", "rate": f"{r} req/s"}, st.floats(0.1, 1000)),
    st.builds(lambda r, b: {"process": "burst", "rate": f"{r} req/s", "burst_size": b},
              st.floats(0.1, 1000), st.integers(2, 50)),
)
prefixes = st.one_of(st.none(), st.builds(
    lambda p, t, z, f: {"prompts": p, "tokens": t, "popularity": z, "fraction": f},
    st.integers(1, 50), st.integers(1, 5000), st.floats(0, 3), st.floats(0, 1)))
sessions = st.one_of(st.none(), st.builds(
    lambda turns, think, frac, tool, cap: {"turns": turns, "think_time": think,
                                           "tool_call_fraction": frac, "tool_gap": tool,
                                           "max_input_tokens": cap},
    st.one_of(st.builds(lambda v: {"dist": "fixed", "value": v}, st.integers(1, 20)),
              st.builds(lambda h: {"dist": "uniform", "low": 1, "high": h}, st.integers(1, 20))),
    time_dists, st.floats(0, 1), time_dists, st.one_of(st.none(), st.integers(1, 60000))))

specs = st.builds(
    lambda n, a, i, o, p, s, bt: {k: v for k, v in {
        "kind": "synthetic", "num_requests": n, "arrivals": a, "input_tokens": i,
        "output_tokens": o, "shared_prefix": p, "sessions": s, "hash_block_tokens": bt}.items()
        if v is not None},
    st.integers(1, 300), arrivals, token_dists, token_dists, prefixes, sessions,
    st.sampled_from([16, 256, 512]))


@settings(max_examples=60, deadline=None)
@given(spec=specs, seed=st.integers(0, 2**32))
def test_generator_invariants(spec, seed):
    reqs = list(open_workload(spec, seed=seed))
    assert len(reqs) == spec["num_requests"]
    bt = spec["hash_block_tokens"]
    prefix_of: dict[int, tuple[int, ...]] = {}
    last_turn: dict[int, object] = {}
    prev_t = 0.0
    for i, r in enumerate(reqs):
        assert r.request_id == i
        assert r.arrival_s >= prev_t and r.gap_s >= 0
        prev_t = r.arrival_s
        assert r.input_tokens >= 1 and r.output_tokens >= 1
        assert r.hash_block_tokens == bt and len(r.hash_ids) == -(-r.input_tokens // bt)
        for k, h in enumerate(r.hash_ids):           # chained: same id => same prefix
            assert prefix_of.setdefault(h, r.hash_ids[:k]) == r.hash_ids[:k]
        if r.session_id >= 0:
            before = last_turn.get(r.session_id)
            if before is not None:
                assert r.turn == before.turn + 1
                full = before.input_tokens // bt
                assert r.hash_ids[:full] == before.hash_ids[:full]
                assert r.input_tokens > before.input_tokens + before.output_tokens
            else:
                assert r.turn == 0
            last_turn[r.session_id] = r
    assert reqs == list(open_workload(spec, seed=seed))
