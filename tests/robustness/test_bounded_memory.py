"""Bounded memory (issue 21): the Mooncake access reader never holds the trace as Python lists.

The reader parses a few thousand lines into lists, turns them into arrays and drops the
lists, so its peak is about the arrays it returns plus one concatenation, not the ~44 bytes
an id that whole-file lists took (3.1 GB for a 2M-line trace).  Measured numbers:
benchmarks/RESULTS.md, "Bounded memory".
"""
from __future__ import annotations

import json
import random
import tracemalloc

import numpy as np
import pytest

from memsim.ground.errors import TraceError
from memsim.workloads import accesses
from memsim.workloads.accesses import read_accesses


def _trace(path, lines: int, seed: int = 0):
    rng = random.Random(seed)
    ids, times = [], []
    with open(path, "w") as f:
        t = 0
        for _ in range(lines):
            t += rng.randint(0, 40)
            h = [rng.randint(0, 1 << 40) for _ in range(rng.randint(1, 20))]
            ids += h
            times += [t / 1000.0] * len(h)
            f.write(json.dumps({"timestamp": t, "input_length": 512 * len(h), "output_length": 8,
                                "hash_ids": h}) + "\n")
            if rng.random() < 0.01:
                f.write("\n")          # blank lines are skipped, line numbers still count
    return np.array(ids, np.int64), np.array(times)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 13])
def test_chunked_reader_reads_every_access(tmp_path, monkeypatch, chunk):
    ids, times = _trace(tmp_path / "t.jsonl", 500, seed=chunk)
    monkeypatch.setattr(accesses, "_MOONCAKE_LINES", chunk)
    acc = read_accesses(tmp_path / "t.jsonl", format="mooncake")
    assert np.array_equal(acc.ids, ids) and np.array_equal(acc.times_s, times)


def test_reader_peak_is_near_its_arrays(tmp_path):
    _trace(tmp_path / "t.jsonl", 60_000)
    tracemalloc.start()
    try:
        acc = read_accesses(tmp_path / "t.jsonl", format="mooncake")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    arrays = acc.ids.nbytes + acc.times_s.nbytes
    assert peak < 2.0 * arrays, f"peak {peak / 2**20:.1f} MiB for {arrays / 2**20:.1f} MiB of arrays"


def test_id_beyond_64_bits_is_one_line(tmp_path, cli_error):
    # ids are 64-bit hashes: up to 2**64-1 they load (bits kept as int64), beyond is one line
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"timestamp": 0, "hash_ids": [1, 2]}\n'
                  '{"timestamp": 5, "hash_ids": [18446744073709551615]}\n')
    acc = read_accesses(ok, format="mooncake")
    assert acc.ids.dtype == "int64" and len(acc.ids) == 3 and len(set(acc.ids.tolist())) == 3
    p = tmp_path / "t.jsonl"
    p.write_text('{"timestamp": 0, "hash_ids": [1, 2]}\n'
                 '{"timestamp": 5, "hash_ids": [18446744073709551616]}\n')
    with pytest.raises(TraceError, match=r"2\*\*64"):
        read_accesses(p, format="mooncake")
    cli_error(["replay", p, "--format", "mooncake", "--policy", "lru", "--capacity", "4"],
              str(p), "2**64", family="trace")


def test_report_of_spilled_run_reads_columns_only(monkeypatch, tmp_path):
    """report.html of a run whose tables spilled to disk: the same figures as from the tables
    in memory, without reading a spilled table back whole."""
    from robust_helpers import tiny_scenario

    from memsim.reports import html
    from memsim.sim.config import load_scenario
    from memsim.sim.engine import Engine
    from memsim.sim.records import Records

    scen = tiny_scenario()
    scen["workload"] = {**scen["workload"], "num_requests": 60}
    whole = Engine(load_scenario(scen)).run()
    spilled = Engine(load_scenario(scen), spill_rows=7).run()
    assert spilled._sources["requests"].spilled

    def no_frame(self, *a, **k):
        raise AssertionError("the report read a spilled table whole")
    monkeypatch.setattr(Records, "frame", no_frame)
    html.render(spilled, tmp_path / "report.html", plotly_js="cdn")
    _, figs_spilled = html._page(html.labelled({"r": html._ReportView(spilled)}), title="t",
                                 plotly_js="cdn", html_path=None)
    monkeypatch.undo()
    _, figs_whole = html._page({"r": whole}, title="t", plotly_js="cdn", html_path=None)
    assert figs_spilled.keys() == figs_whole.keys() and figs_whole
    for k in figs_whole:
        assert figs_spilled[k].to_json() == figs_whole[k].to_json(), k


def test_spread_over_bins_by_slices_equals_one_pass(monkeypatch):
    from memsim.reports import _data
    rng = np.random.default_rng(3)
    start = rng.uniform(0, 100, 5000)
    dur = np.where(rng.random(5000) < 0.2, 0.0, rng.exponential(2.0, 5000))
    amount = rng.integers(1, 50, 5000).astype(float)
    amount[::97] = np.nan
    edges = _data.time_edges(float(np.max(start + dur)) + 1.0, bins=50)    # every row inside
    whole = _data.spread_over_bins(start, dur, amount, edges)
    monkeypatch.setattr(_data, "_SPREAD_ROWS", 333)
    sliced = _data.spread_over_bins(start, dur, amount, edges)
    assert np.allclose(sliced, whole, rtol=1e-12, atol=1e-9)
    assert np.isclose(whole.sum(), np.nansum(amount[np.isfinite(amount)]))
