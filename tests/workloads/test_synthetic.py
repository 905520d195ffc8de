"""The synthetic generator: determinism, arrival processes, lengths, prefix and session hashes."""
from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.workloads import open_workload
from memsim.workloads.synthetic import write_mooncake_like


def spec(**kw):
    base = {"kind": "synthetic", "num_requests": 2000,
            "arrivals": {"process": "poisson", "rate": "5 req/s"},
            "input_tokens": {"dist": "lognormal", "mean": 700, "sigma": 1.0},
            "output_tokens": {"dist": "uniform", "low": 1, "high": 300}}
    base.update(kw)
    return base


SESSIONS = {"turns": {"dist": "uniform", "low": 1, "high": 6},
            "think_time": {"dist": "exponential", "mean": "30 s"},
            "tool_call_fraction": 0.4, "tool_gap": {"dist": "fixed", "value": "2 s"}}
PREFIX = {"prompts": 5, "tokens": 1100, "popularity": 1.2}


def rows(s, seed=0):
    return [tuple(getattr(r, f) for f in r.__slots__) for r in open_workload(s, seed=seed)]


@pytest.mark.parametrize("extra", [{}, {"shared_prefix": PREFIX, "sessions": SESSIONS}])
def test_same_seed_same_stream_other_seed_differs(extra):
    s = spec(**extra)
    a, b, c = rows(s, seed=7), rows(s, seed=7), rows(s, seed=8)
    assert a == b
    assert a != c
    assert len(a) == len(c) == 2000


@pytest.mark.parametrize("extra", [{}, {"shared_prefix": PREFIX, "sessions": SESSIONS}])
def test_stream_order_and_ids(extra):
    reqs = list(open_workload(spec(**extra), seed=3))
    assert [r.request_id for r in reqs] == list(range(len(reqs)))
    t = np.array([r.arrival_s for r in reqs])
    assert t[0] == 0.0 and np.all(np.diff(t) >= 0)
    assert all(r.hash_ids and len(r.hash_ids) == -(-r.input_tokens // 512) for r in reqs)


def test_duration_stops_the_same_stream():
    by_n = list(open_workload(spec(num_requests=3000), seed=1))
    by_t = list(open_workload({**spec(num_requests=None), "duration": "2 min"}, seed=1))
    assert by_t and all(r.arrival_s < 120 for r in by_t)
    assert by_t == by_n[:len(by_t)]
    assert by_n[len(by_t)].arrival_s >= 120


def gaps(process, n=20000, seed=0):
    t = np.array([r.arrival_s for r in open_workload(spec(num_requests=n, arrivals=process),
                                                      seed=seed)])
    return np.diff(t)


def test_poisson_rate_and_cv():
    g = gaps({"process": "poisson", "rate": "5 req/s"})
    assert 1 / g.mean() == pytest.approx(5.0, rel=0.03)
    assert g.std() / g.mean() == pytest.approx(1.0, rel=0.05)


def test_gamma_cv():
    g = gaps({"process": "gamma", "rate": "2 req/s", "cv": 2.0})
    assert 1 / g.mean() == pytest.approx(2.0, rel=0.06)
    assert g.std() / g.mean() == pytest.approx(2.0, rel=0.1)


def test_uniform_arrivals_are_evenly_spaced():
    g = gaps({"process": "uniform", "rate": "4 req/s"}, n=100)
    assert np.allclose(g, 0.25)


def test_burst_arrivals_come_in_groups():
    t = np.array([r.arrival_s for r in open_workload(
        spec(num_requests=70000, arrivals={"process": "burst", "rate": "10 req/s",
                                           "burst_size": 7}), seed=2)])
    groups = t.reshape(-1, 7)   # 70000 is a multiple of 7; groups straddle 65,536-row chunks
    assert np.all(groups == groups[:, :1])
    assert np.all(np.diff(groups[:, 0]) > 0)
    assert len(t) / t[-1] == pytest.approx(10.0, rel=0.03)


def lengths(dist, n=20000, which="input_tokens"):
    return np.array([getattr(r, which) for r in open_workload(
        spec(num_requests=n, **{which: dist}), seed=4)])


def test_length_distributions():
    assert set(lengths({"dist": "fixed", "value": 42}, 100)) == {42}
    u = lengths({"dist": "uniform", "low": 10, "high": 20})
    assert u.min() == 10 and u.max() == 20
    ln = lengths({"dist": "lognormal", "mean": 1000, "sigma": 0.5})
    assert ln.mean() == pytest.approx(1000, rel=0.03)
    clamped = lengths({"dist": "lognormal", "mean": 1000, "sigma": 2.0, "min": 50, "max": 4000})
    assert clamped.min() == 50 and clamped.max() == 4000
    nm = lengths({"dist": "normal", "mean": 20, "std": 30}, which="output_tokens")
    assert nm.min() == 1 and nm.mean() > 20


def test_empirical_lengths_come_from_the_trace(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 111, "output_length": 7}\n'
                    '{"timestamp": 5, "input_length": 222, "output_length": 9}\n')
    reqs = list(open_workload(spec(num_requests=500,
                                   input_tokens={"dist": "empirical", "path": "t.jsonl"},
                                   output_tokens={"dist": "empirical", "path": "t.jsonl"}),
                              base_dir=tmp_path, seed=0))
    assert {r.input_tokens for r in reqs} == {111, 222}
    assert {r.output_tokens for r in reqs} == {7, 9}
    csv = tmp_path / "a.csv"
    csv.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n")
    one = list(open_workload(spec(num_requests=3, input_tokens={
        "dist": "empirical", "path": str(csv), "field": "output"}), seed=0))
    assert {r.input_tokens for r in one} == {44}


def test_empirical_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="trace file not found"):
        open_workload(spec(input_tokens={"dist": "empirical", "path": "none.jsonl"}),
                      base_dir=tmp_path)
    (tmp_path / "x.txt").write_text("1\n")
    with pytest.raises(ConfigError, match="cannot tell the format"):
        open_workload(spec(input_tokens={"dist": "empirical", "path": "x.txt"}), base_dir=tmp_path)


def test_shared_prompts_share_their_full_blocks():
    reqs = list(open_workload(spec(shared_prefix={"prompts": 4, "tokens": 1100,
                                                  "popularity": 1.0}), seed=5))
    heads = [r.hash_ids[:2] for r in reqs]   # 1100 tokens = 2 full 512-token blocks
    counts = {h: heads.count(h) for h in set(heads)}
    assert len(counts) == 4
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] > 1.5 * ranked[-1]       # Zipf: the top prompt is clearly more popular
    tails = [h for r in reqs for h in r.hash_ids[2:]]
    assert len(tails) == len(set(tails))      # everything after the prompt is unique
    assert all(r.input_tokens > 1100 for r in reqs)


def test_prompt_fraction():
    reqs = list(open_workload(spec(shared_prefix={"prompts": 1, "tokens": 512,
                                                  "fraction": 0.25}), seed=6))
    with_prompt = sum(r.hash_ids[0] == 0 for r in reqs) / len(reqs)
    assert with_prompt == pytest.approx(0.25, abs=0.04)


def test_hash_ids_are_chained():
    """Equal id at block k implies equal ids at every block before it."""
    prefix_of: dict[int, tuple[int, ...]] = {}
    for r in open_workload(spec(shared_prefix=PREFIX, sessions=SESSIONS), seed=9):
        for k, h in enumerate(r.hash_ids):
            assert prefix_of.setdefault(h, r.hash_ids[:k]) == r.hash_ids[:k]


def test_session_turns_extend_the_previous_prompt():
    reqs = list(open_workload(spec(num_requests=3000, shared_prefix=PREFIX, sessions=SESSIONS),
                              seed=11))
    by_session: dict[int, list] = {}
    for r in reqs:
        by_session.setdefault(r.session_id, []).append(r)
    multi = [turns for turns in by_session.values() if len(turns) > 1]
    assert len(multi) > 100
    gaps_seen = []
    for turns in multi:
        assert [t.turn for t in turns] == list(range(len(turns)))
        for a, b in zip(turns, turns[1:]):
            full = a.input_tokens // 512
            assert b.hash_ids[:full] == a.hash_ids[:full]
            if a.input_tokens % 512:
                assert a.hash_ids[-1] not in b.hash_ids   # the partial block grew: new id
            assert b.input_tokens > a.input_tokens + a.output_tokens
            assert b.arrival_s == pytest.approx(a.arrival_s + a.gap_s)
            gaps_seen.append(a.gap_s)
    tool = np.mean(np.isclose(gaps_seen, 2.0))
    assert tool == pytest.approx(0.4, abs=0.05)
    # a session's last turn seen either ends it (gap 0) or its next turn is past the stream's end
    lasts = [turns[-1] for turns in by_session.values()]
    assert all(t.gap_s == 0.0 or t.arrival_s + t.gap_s >= reqs[-1].arrival_s for t in lasts)
    ended = [t for t in lasts if t.gap_s == 0.0]
    assert len(ended) > len(by_session) // 2
    assert all(1 <= t.turn + 1 <= 6 for t in ended)


def test_session_max_input_tokens():
    s = spec(num_requests=3000,
             sessions={**SESSIONS, "turns": {"dist": "fixed", "value": 50},
                       "max_input_tokens": 8000})
    reqs = list(open_workload(s, seed=12))
    assert all(r.input_tokens <= 8000 for r in reqs if r.turn > 0)
    assert max(r.turn for r in reqs) < 49


def test_seed_must_be_a_nonnegative_integer():
    with pytest.raises(ConfigError, match="seed=-1"):
        open_workload(spec(), seed=-1)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for RSS")
def test_million_requests_stream_in_bounded_memory():
    """Resident memory after 1M requests is what it was after 100k: nothing accumulates.

    (Keeping every request would cost several hundred MiB.  tracemalloc would
    measure this too, but slows the stream tenfold.)
    """
    s = spec(num_requests=1_000_000, shared_prefix=PREFIX, sessions=SESSIONS,
             input_tokens={"dist": "lognormal", "mean": 300, "sigma": 0.5})
    n = 0
    for r in open_workload(s, seed=0):
        n += 1
        if n == 100_000:
            warm = rss_bytes()
    grown = rss_bytes() - warm
    assert n == 1_000_000 and r.request_id == 999_999
    assert grown < 64 * 2**20, f"RSS grew {grown / 2**20:.0f} MiB from 100k to 1M requests"


def test_streaming_allocations_are_small():
    """tracemalloc peak over 120k requests stays near one chunk's arrays (~13 MiB).

    Keeping the requests instead peaks near 49 MiB.
    """
    s = spec(num_requests=120_000, shared_prefix=PREFIX)
    tracemalloc.start()
    try:
        for _ in open_workload(s, seed=0):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_write_mooncake_like_reads_back(tmp_path):
    path = write_mooncake_like(tmp_path / "m.jsonl", 400, seed=1)
    reqs = list(open_workload({"kind": "mooncake", "path": str(path)}))
    assert len(reqs) == 400
    again = write_mooncake_like(tmp_path / "n.jsonl", 400, seed=1)
    assert path.read_bytes() == again.read_bytes()
    seen, hits, total = set(), 0, 0
    for r in reqs:
        for h in r.hash_ids:
            hits += h in seen
            seen.add(h)
        total += len(r.hash_ids)
    assert 0.1 < hits / total < 0.9
