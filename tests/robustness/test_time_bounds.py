"""Work bounded by events, not by simulated time: absurd spans refused, huge sweeps asked for.

Every case here used to hang or run for minutes (issue 17).  The rules
(docs/robustness.md, "Work bounded by events"):

* a synthetic workload whose requests would span more than 1e10 s (rate x count, or
  ``duration``) is refused before it runs; so is a duration implying more than 10 M requests;
* a trace row more than 1e8 s (3.2 years) after the trace's first row is refused at its line
  (an epoch time in a relative trace, milliseconds read as seconds, 1e300);
* sampling keeps at most ``MAX_SAMPLES`` times, widening the interval with one warning
  (``tests/sim/test_sampling.py`` has the run over 1e9 s);
* a sweep of more than 1,000 points needs ``--yes``; more than 100,000 is refused, in
  both cases before any point is built.

Each case must also leave an existing results folder as it was and finish in seconds.
"""
from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import run_cli, tiny_scenario, warm_up

from memsim.ground.errors import ConfigError
from memsim.sim.sampling import MAX_SAMPLES
from memsim.studies.sweep import ASK_POINTS, MAX_POINTS, load_sweep, run_sweep
from memsim.workloads._stream import MAX_SPAN_S, MAX_TRACE_SPAN_S

FAST_S = 2.0   # wall-time bound of one case: a hang is a failure
HYP = settings(max_examples=12, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True, scope="module")
def _warm():
    """Import the engine and read the platform once, so a case's wall time is its own."""
    from memsim.sim.config import load_scenario
    warm_up()
    load_scenario(tiny_scenario())


def _scenario(tmp_path, workload: dict | None = None, name="s.yaml", **sections) -> str:
    scen = tiny_scenario()
    if workload is not None:
        scen["workload"] = workload
    scen.update(sections)
    p = tmp_path / name
    p.write_text(yaml.safe_dump(scen))
    return str(p)


def _synthetic(**over) -> dict:
    w = tiny_scenario()["workload"]
    w.update(over)
    return w


def _kept_out(tmp_path):
    """A results folder from an earlier run: a failed run must not touch it."""
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "summary.json").write_text('{"requests": 5}')
    return out


def _refused(cli_error, tmp_path, argv, *needles):
    out = _kept_out(tmp_path)
    t0 = time.perf_counter()
    line = cli_error([*argv, "--out", out], *needles, family="time")
    assert time.perf_counter() - t0 < FAST_S, f"took {time.perf_counter() - t0:.1f} s: {line}"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert (out / "summary.json").read_text() == '{"requests": 5}'
    return line


# ---- synthetic spans, refused before running -------------------------------------------

SYNTHETIC = [
    ("1e-9 req/s x 50", {"arrivals": {"process": "poisson", "rate": "1e-9 req/s"}, "num_requests": 50},
     "workload.arrivals.rate"),
    ("uniform 1e-12 req/s", {"arrivals": {"process": "uniform", "rate": "1e-12 req/s"}}, "workload.arrivals.rate"),
    ("gamma 1e-15 req/s", {"arrivals": {"process": "gamma", "rate": "1e-15 req/s", "cv": 2.0}},
     "workload.arrivals.rate"),
    ("burst 1e-10 req/s", {"arrivals": {"process": "burst", "rate": "1e-10 req/s", "burst_size": 2}},
     "workload.arrivals.rate"),
    ("duration 1e12 s", {"num_requests": None, "duration": "1e12 s"}, "workload.duration"),
    ("duration 1e300 s", {"num_requests": None, "duration": "1e300 s"}, "workload.duration"),
    ("duration implying 5e8 requests", {"num_requests": None, "duration": "1e8 s"}, "workload.duration"),
    ("1 req/h over 1e6 h of requests", {"arrivals": {"process": "poisson", "rate": "1e-9 req/s"},
                                        "num_requests": 100}, "workload.arrivals.rate"),
]


@pytest.mark.parametrize("label,over,field", SYNTHETIC, ids=[c[0] for c in SYNTHETIC])
def test_synthetic_span_is_refused_up_front(cli_error, tmp_path, label, over, field):
    w = {k: v for k, v in _synthetic(**over).items() if v is not None}
    _refused(cli_error, tmp_path, ["run", _scenario(tmp_path, w)], "s.yaml", field)


@HYP
@given(exp=st.integers(11, 300), n=st.integers(1, 1000))
def test_any_rate_past_the_span_cap_is_refused(cli_error, tmp_path_factory, exp, n):
    tmp = tmp_path_factory.mktemp("rate")
    rate = n / 10.0 ** exp          # n requests over 10**exp s > 1e10 s
    w = _synthetic(num_requests=n, arrivals={"process": "poisson", "rate": f"{rate:.6g} req/s"})
    line = _refused(cli_error, tmp, ["run", _scenario(tmp, w)], "workload.arrivals.rate")
    assert f"{MAX_SPAN_S:.0e}" in line


def test_a_set_rate_is_checked_like_the_file(cli_error, tmp_path):
    _refused(cli_error, tmp_path, ["run", _scenario(tmp_path), "--set", "workload.arrivals.rate=1e-12 req/s"],
             "workload.arrivals.rate")


def test_slow_arrivals_within_the_cap_run_in_seconds_with_bounded_samples(tmp_path, capsys):
    # 4 requests, one every 2.5e8 s: 7.5e8 simulated seconds, sampled at most MAX_SAMPLES times
    import pandas as pd
    w = _synthetic(num_requests=4, arrivals={"process": "uniform", "rate": "4e-9 req/s"})
    t0 = time.perf_counter()
    rc, _, err = run_cli(capsys, ["run", _scenario(tmp_path, w), "--out", tmp_path / "r", "--quiet",
                                  "--no-report"])
    assert rc == 0, err
    assert time.perf_counter() - t0 < 10
    assert err.count("\n") == 1 and "sampled every" in err
    req = pd.read_parquet(tmp_path / "r" / "requests.parquet")
    assert req.arrival_s.max() > 5e8
    assert len(pd.read_parquet(tmp_path / "r" / "tiers.parquet")) <= MAX_SAMPLES + 1


# ---- traces whose timestamps jump ------------------------------------------------------

def _mooncake(tmp_path, stamps_ms) -> str:
    rows = [json.dumps({"timestamp": t, "input_length": 100, "output_length": 4, "hash_ids": [i]})
            for i, t in enumerate(stamps_ms)]
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(rows) + "\n")
    return _scenario(tmp_path, {"kind": "mooncake", "path": str(p)})


def _csv(tmp_path, stamps, unit="s") -> str:
    p = tmp_path / "t.csv"
    p.write_text("timestamp,input_tokens,output_tokens\n" + "".join(f"{t},100,4\n" for t in stamps))
    return _scenario(tmp_path, {"kind": "csv", "path": str(p), "time_unit": unit})


def _azure(tmp_path, stamps) -> str:
    p = tmp_path / "t.csv"
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(f"{t},100,4\n" for t in stamps))
    return _scenario(tmp_path, {"kind": "azure", "path": str(p)})


TRACES = [
    ("mooncake: epoch ms in a relative trace", lambda d: _mooncake(d, [0, 1000, 1_700_000_000_000]), "line 3"),
    ("mooncake: 1e300", lambda d: _mooncake(d, [0, 10, 1e300]), "line 3"),
    ("mooncake: decades apart", lambda d: _mooncake(d, [0, 10, 10**6, 10**9, 10**12]), "line 5"),
    ("csv: epoch seconds in a relative trace", lambda d: _csv(d, [0, 1, 1_700_000_000]), "line 4"),
    ("csv: relative seconds, then epoch ms", lambda d: _csv(d, [0, 5, 1_700_000_000_000]), "line 4"),
    ("azure: a row a thousand years on", lambda d: _azure(d, ["2023-11-16 18:15:46", "3023-11-16 18:15:46"]),
     "line 3"),
    ("csv: integer beyond int64", lambda d: _csv(d, [0, 10**23]), "line 3"),
    ("csv: us read as ms", lambda d: _csv(d, [0, 1_700_000_000_000_000], unit="ms"), "line 3"),
]


@pytest.mark.parametrize("label,make,where", TRACES, ids=[c[0] for c in TRACES])
def test_a_trace_row_past_the_span_cap_is_refused_at_its_line(cli_error, tmp_path, label, make, where):
    line = _refused(cli_error, tmp_path, ["run", make(tmp_path)], "t.", where)
    assert "a trace may span" in line


def test_a_parquet_uint64_timestamp_is_refused_at_its_row(cli_error, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"timestamp": pa.array([0, 2**64 - 1], pa.uint64()),
                             "input_tokens": [100, 100], "output_tokens": [4, 4]}), tmp_path / "t.parquet")
    scen = _scenario(tmp_path, {"kind": "parquet", "path": str(tmp_path / "t.parquet")})
    _refused(cli_error, tmp_path, ["run", scen], "t.parquet", "row 2")


@HYP
@given(gap=st.floats(MAX_TRACE_SPAN_S * 1.01, 1e300), at=st.integers(1, 3))
def test_any_jump_past_the_trace_cap_is_refused(cli_error, tmp_path_factory, gap, at):
    tmp = tmp_path_factory.mktemp("jump")
    stamps = [0.0, 1.0, 2.0, 3.0]
    stamps[at:] = [gap + s for s in stamps[at:]]
    _refused(cli_error, tmp, ["run", _csv(tmp, stamps)], "t.csv", f"line {at + 2}")


# ---- sweeps ------------------------------------------------------------------------------

def _sweep(tmp_path, grid: dict, **more) -> str:
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(tiny_scenario()))
    p = tmp_path / "sw.yaml"
    p.write_text(yaml.safe_dump({"base": "base.yaml", "grid": grid, "out": str(tmp_path / "o"), **more}))
    return str(p)


SWEEPS = [
    ("10^6 grid", {"kv.block_tokens": list(range(1, 1001)), "scheduler.max_batch_size": list(range(1, 1001))},
     {}, "1,000,000 points"),
    ("10^6 from three lists", {"seed": list(range(100)), "kv.block_tokens": list(range(1, 101)),
                               "scheduler.max_batch_size": list(range(1, 101))}, {}, "grid 100 x 100 x 100"),
    ("1,001 points without --yes", {"seed": list(range(1001))}, {}, "--yes"),
    ("grid x seeds", {"seed": list(range(10))}, {"seeds": list(range(200))}, "seeds 200"),
]


@pytest.mark.parametrize("label,grid,more,needle", SWEEPS, ids=[c[0] for c in SWEEPS])
def test_a_huge_sweep_states_its_size_and_is_refused_before_building_points(cli_error, tmp_path, label,
                                                                           grid, more, needle):
    t0 = time.perf_counter()
    cli_error(["sweep", _sweep(tmp_path, grid, **more), "--quiet"], "sw.yaml", needle, family="time")
    assert time.perf_counter() - t0 < FAST_S
    assert not (tmp_path / "o").exists()


def test_more_than_max_points_is_refused_even_with_yes(cli_error, tmp_path):
    grid = {"kv.block_tokens": list(range(1, 401)), "scheduler.max_batch_size": list(range(1, 401))}
    cli_error(["sweep", _sweep(tmp_path, grid), "--yes", "--quiet"], f"{MAX_POINTS:,}", family="time")


def test_the_api_asks_for_yes_too(tmp_path):
    sw = load_sweep(_sweep(tmp_path, {"seed": list(range(ASK_POINTS + 1))}))
    assert sw.size == ASK_POINTS + 1 and sw.shape() == f"grid {ASK_POINTS + 1}"
    with pytest.raises(ConfigError, match="yes=True"):
        run_sweep(sw, progress=False)
    with pytest.raises(ConfigError, match="yes"):
        run_sweep(sw, progress=False, yes="please")


@HYP
@given(lengths=st.lists(st.integers(1, 60), min_size=1, max_size=4), seeds=st.integers(0, 40))
def test_sweep_size_is_the_product_of_its_lists(tmp_path_factory, lengths, seeds):
    tmp = tmp_path_factory.mktemp("size")
    paths = ["kv.block_tokens", "scheduler.max_batch_size", "scheduler.max_batch_tokens", "seed"]
    grid = {p: list(range(1, n + 1)) for p, n in zip(paths, lengths)}
    more = {"seeds": list(range(seeds))} if seeds else {}
    sw = load_sweep(_sweep(tmp, grid, **more))
    n = 1
    for v in lengths:
        n *= v
    n *= seeds or 1
    assert sw.size == n
    if n > ASK_POINTS:
        with pytest.raises(ConfigError, match="points"):
            sw.check_size()
    else:
        assert sw.check_size() == n


TRAIN = [("global_batch=1000000000000", "global_batch", "micro-batches"),
         ("global_batch=20000", "global_batch", "16,384"),
         ("seq_len=10000000000", "seq_len", "1048576"),
         ("seq_len=4194304", "seq_len", "1048576")]


@pytest.mark.parametrize("setting,field,needle", TRAIN, ids=[c[0] for c in TRAIN])
def test_a_training_step_too_big_to_simulate_is_refused(cli_error, tmp_path, setting, field, needle):
    # each used to run past 60 s (one pipeline op per micro-batch; the memory search past ~4M tokens)
    from memsim.scenarios import folder
    t0 = time.perf_counter()
    cli_error(["run", folder() / "train-llama8b-8xh100.yaml", "--set", setting], field, needle, family="time")
    assert time.perf_counter() - t0 < FAST_S
