"""Sweeps: the file's schema, point expansion, executors agreeing, and resuming a killed sweep."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.studies.compare import WALL_CLOCK
from memsim.studies.sweep import load_sweep, load_sweep_results, run_sweep

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "scenarios" / "quickstart.yaml"

#: 12 points: 4 batch limits x 3 block sizes, 800 requests each (~0.1 s a run).
TWELVE = {"base": str(QUICK),
          "grid": {"scheduler.max_batch_size": [8, 16, 64, 256], "kv.block_tokens": [16, 32, 64]},
          "zip": {"workload.num_requests": [800], "workload.arrivals.rate": ["10 req/s"]}}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    drop = [c for c in WALL_CLOCK if c in a.columns]
    pd.testing.assert_frame_equal(a.drop(columns=drop).reset_index(drop=True),
                                  b.drop(columns=drop).reset_index(drop=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The 12-point sweep run once, uninterrupted, on two local processes."""
    d = tmp_path_factory.mktemp("sweep-ref")
    run = run_sweep(load_sweep(_write(d / "s.yaml", TWELVE), out=d / "out"), workers=2, progress=False)
    assert (run.ran, run.skipped, run.failed) == (12, 0, 0)
    return run.table


def test_points_expand_grid_times_zip_times_seeds(tmp_path):
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"kv.block_tokens": [16, 32]},
                                     "zip": {"workload.num_requests": [10, 20, 30],
                                             "scheduler.max_batch_size": [4, 8, 16]}, "seeds": [0, 7]})
    pts = load_sweep(f).points()
    assert len(pts) == 2 * 3 * 2
    assert pts[0].params == {"kv.block_tokens": 16, "workload.num_requests": 10, "scheduler.max_batch_size": 4}
    assert [p.seed for p in pts[:2]] == [0, 7]
    assert pts[-1].params == {"kv.block_tokens": 32, "workload.num_requests": 30, "scheduler.max_batch_size": 16}
    assert len({p.key for p in pts}) == 12
    assert pts[3].scenario.workload.num_requests == 20 and pts[3].scenario.kv.block_tokens == 16
    assert load_sweep(f).out == Path("sweeps/s")


@pytest.mark.parametrize("data,message", [
    ({"grid": {"kv.block_tokens": [16]}}, "s.yaml: base: required field is missing"),
    ({"base": str(QUICK), "gird": {}}, "s.yaml: gird: unknown key (did you mean 'grid'?)"),
    ({"base": str(QUICK), "grid": {"kv.block_tokns": [16, 32]}},
     "s.yaml: grid.kv.block_tokns: unknown key (did you mean 'block_tokens'?)"),
    ({"base": str(QUICK), "zip": {"kv.block_tokens": [16, 32], "scheduler.max_batch_size": [8]}},
     "zip lists must all have the same length"),
    ({"base": str(QUICK), "grid": {"kv.block_tokens": []}}, "kv.block_tokens: needs at least one value"),
    ({"base": str(QUICK), "grid": {"kv.block_tokens": [16]}, "zip": {"kv.block_tokens": [32]}},
     "kv.block_tokens is in both grid and zip"),
    ({"base": str(QUICK), "grid": {"kv..x": [1]}}, "is not a dotted path"),
    ({"base": str(QUICK), "seeds": [1, 1]}, "must be distinct integers"),
    ({"base": str(QUICK), "grid": {"kv.block_tokens": [16, "lots"]}},
     "s.yaml: grid.kv.block_tokens: Input should be a valid integer"),
    ({"base": str(QUICK), "grid": {"kv.block_tokens": [16, 16.0]}}, "give the same scenario"),
    ({"base": "missing.yaml"}, "s.yaml: base: base scenario 'missing.yaml' not found"),
])
def test_bad_sweep_files_name_file_and_field(tmp_path, data, message):
    f = _write(tmp_path / "s.yaml", data)
    with pytest.raises(ConfigError) as e:
        load_sweep(f).points()
    assert message in str(e.value) and "\n" not in str(e.value)


def test_cli_bad_sweep_is_one_line_exit_2(tmp_path, capsys):
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"scheduler.max_batch": [1]}})
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"memsim: error: {f}: grid.scheduler.max_batch: unknown key")
    assert not (tmp_path / "o").exists()


def test_dask_gives_identical_results(reference, tmp_path):
    pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    run = run_sweep(load_sweep(_write(tmp_path / "s.yaml", TWELVE), out=tmp_path / "out"),
                    executor="dask", workers=2, progress=False)
    assert (run.ran, run.failed) == (12, 0)
    _same(run.table, reference)
    assert len(reference) == 12 and reference["throughput_tok_s"].nunique() > 1


def test_existing_dask_scheduler_from_the_cli(tmp_path, capsys):
    distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"workload.num_requests": [20, 40]}})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--scheduler",
                     cluster.scheduler_address, "--json"]) == 0
    assert capsys.readouterr().out.startswith('{"points": 2, "ran": 2, "skipped": 0, "failed": 0')
    assert load_sweep_results(tmp_path / "o")["completed"].tolist() == [20, 40]


def test_killed_sweep_resumes_only_missing_points(reference, tmp_path):
    f = _write(tmp_path / "s.yaml", TWELVE)
    out = tmp_path / "out"
    points = out / "points"
    proc = subprocess.Popen([sys.executable, "-m", "memsim.cli", "sweep", str(f), "--out", str(out),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if points.is_dir() and len(list(points.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep finished before it could be killed: " + proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p: p.stat().st_mtime_ns for p in points.glob("*.parquet")}
    assert 3 <= len(done) < 12
    assert not (out / "results.parquet").exists()
    for p in done:                          # every file left behind is a complete point
        assert len(pd.read_parquet(p)) == 1

    run = run_sweep(load_sweep(f, out=out), workers=2, progress=False)
    assert (run.ran, run.skipped) == (12 - len(done), len(done))
    assert {p: p.stat().st_mtime_ns for p in done} == done        # finished points were not redone
    _same(run.table, reference)
    _same(load_sweep_results(out), reference)
    again = run_sweep(load_sweep(f, out=out), workers=2, progress=False)
    assert (again.ran, again.skipped) == (0, 12)


def test_growing_a_sweep_runs_only_new_points(tmp_path):
    small = {"base": str(QUICK), "grid": {"workload.num_requests": [30, 60]}}
    f = _write(tmp_path / "s.yaml", small)
    first = run_sweep(load_sweep(f, out=tmp_path / "o"), workers=1)
    assert first.ran == 2
    small["grid"]["workload.num_requests"] = [15, 30, 60]
    second = run_sweep(load_sweep(_write(f, small), out=tmp_path / "o"), workers=1)
    assert (second.ran, second.skipped) == (1, 2)
    assert second.table["workload.num_requests"].tolist() == [15, 30, 60]
    assert second.table["index"].tolist() == [0, 1, 2]
    assert second.table["completed"].tolist() == [15, 30, 60]


def test_a_point_that_cannot_run_is_recorded_not_fatal(tmp_path, capsys):
    # 10% of an H100's HBM cannot even hold Llama-3.1-8B's weights
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"kv.memory_fraction": [0.1, 0.5]},
                                     "zip": {"workload.num_requests": [20]}})
    run = run_sweep(load_sweep(f, out=tmp_path / "o"), workers=1)
    assert run.failed == 1
    bad, good = run.table.iloc[0], run.table.iloc[1]
    assert bad["error"].startswith("SimulationError") and good["error"] == "" and good["completed"] == 20
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 1       # reported, skipped on rerun
    assert "2 points: 0 run, 2 already done, 1 failed" in capsys.readouterr().out
    assert main(["sweep", str(f), "--out", str(tmp_path / "o"), "--retry-failed"]) == 1
    assert "2 points: 1 run, 1 already done, 1 failed" in capsys.readouterr().out


def test_interrupted_before_any_point_finishes(tmp_path, monkeypatch):
    import memsim.studies.sweep as sweep_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_mod, "run_many", interrupted)
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"workload.num_requests": [20]}})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(f, out=tmp_path / "o"), workers=1)
    assert not (tmp_path / "o" / "results.parquet").exists()


def test_mixed_value_types_become_text_in_the_dataset(tmp_path):
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {
        "kv.prefix_cache.eviction": ["lru", {"name": "fifo"}], "workload.num_requests": [20]}})
    run = run_sweep(load_sweep(f, out=tmp_path / "o"), workers=1)
    col = load_sweep_results(tmp_path / "o")["kv.prefix_cache.eviction"].tolist()
    assert col == ["lru", '{"name": "fifo"}'] and run.failed == 0


def test_cli_sweep_table_and_json(tmp_path, capsys):
    f = _write(tmp_path / "s.yaml", {"base": str(QUICK), "grid": {"workload.num_requests": [20, 40]},
                                     "out": str(tmp_path / "o")})
    assert main(["sweep", str(f), "--workers", "1", "--save-runs"]) == 0
    text = capsys.readouterr().out
    assert "workload.num_requests" in text and "2 points: 2 run, 0 already done, 0 failed" in text
    assert len(list((tmp_path / "o" / "runs").iterdir())) == 2
    assert main(["sweep", str(f), "--json"]) == 0
    assert capsys.readouterr().out.startswith('{"points": 2, "ran": 0, "skipped": 2, "failed": 0')


def test_paths_name_list_items_by_tier():
    from memsim.studies.sweep import fold_list_paths
    raw = {"kv": {"block_tokens": 16, "tiers": [{"tier": "dram", "capacity": "1 TiB", "eviction": "lru"},
                                                 {"tier": "ssd", "capacity": "8 TB"}]}}
    got = fold_list_paths(raw, {"kv.tiers.dram.capacity": "256 GiB", "kv.block_tokens": 32,
                                "kv.tiers.dram.eviction": "arc", "kv.tiers.1.capacity": "1 TB"})
    assert got == {"kv.block_tokens": 32,
                   "kv.tiers": [{"tier": "dram", "capacity": "256 GiB", "eviction": "arc"},
                                {"tier": "ssd", "capacity": "1 TB"}]}
    assert raw["kv"]["tiers"][0]["capacity"] == "1 TiB"             # the base is not touched
    with pytest.raises(ConfigError, match=r"kv.tiers has no item 'nvme' \(items: dram, ssd; or an index\)"):
        fold_list_paths(raw, {"kv.tiers.nvme.capacity": "1 TB"})


def test_tier_sweep_runs_in_the_engine(tmp_path):
    base = yaml.safe_load(QUICK.read_text())
    base["workload"]["num_requests"] = 40
    base["kv"]["memory_fraction"] = 0.25
    base["kv"]["tiers"] = [{"tier": "dram", "capacity": "64 GiB", "eviction": "lru"}]
    _write(tmp_path / "base.yaml", base)
    f = _write(tmp_path / "s.yaml", {"base": "base.yaml", "grid": {
        "kv.tiers.dram.capacity": ["16 GiB", "128 GiB"], "kv.tiers.dram.eviction": ["lru", "arc"]}})
    sw = load_sweep(f, out=tmp_path / "o")
    caps = [(p.scenario.kv.tiers[0].capacity, p.scenario.kv.tiers[0].eviction) for p in sw.points()]
    assert caps == [(16 << 30, "lru"), (16 << 30, "arc"), (128 << 30, "lru"), (128 << 30, "arc")]
    run = run_sweep(sw, workers=1)
    assert run.failed == 0 and run.table["completed"].tolist() == [40] * 4
    # numeric in bytes (plots and sorts as numbers), the text as written beside it
    assert run.table["kv.tiers.dram.capacity"].tolist() == [16 << 30, 16 << 30, 128 << 30, 128 << 30]
    assert run.table["kv.tiers.dram.capacity (as written)"].tolist() == ["16 GiB", "16 GiB", "128 GiB", "128 GiB"]
    bad = _write(tmp_path / "bad.yaml", {"base": "base.yaml", "grid": {"kv.tiers.hbm2.capacity": ["1 GiB"]}})
    with pytest.raises(ConfigError, match=r"bad.yaml: grid.kv.tiers.hbm2.capacity: kv.tiers has no item 'hbm2'"):
        load_sweep(bad).points()


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("sweep-*.yaml")), ids=lambda p: p.name)
def test_shipped_sweep_files_validate(path):
    sw = load_sweep(path)
    points = sw.points()
    assert len(points) >= 9 and sw.out == Path(sw.spec.out)
    assert len({p.key for p in points}) == len(points)
