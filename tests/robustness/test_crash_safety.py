"""Crash safety: SIGKILL a process while it writes results; every file is complete or absent.

``Result.save`` writes each table to a temp file and renames it, ``summary.json``
last; a sweep writes each finished point atomically and a rerun resumes.  The
writer runs in a child process that is killed at a random moment (several
times); then every visible result file must read back whole.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from robust_helpers import run_cli, tiny_scenario

from memsim.sim.result import TABLES, load_result

REPO = Path(__file__).resolve().parents[2]

SAVER = r"""
import sys, pandas as pd
import memsim
from robust_helpers import tiny_scenario
res = memsim.run(tiny_scenario())
# make the tables big enough that a write takes a while
res.requests = pd.concat([res.requests] * 40000, ignore_index=True)
res.iterations = pd.concat([res.iterations] * 20000, ignore_index=True)
print("ready", flush=True)
i = 0
while True:
    res.save(f"{sys.argv[1]}/run{i % 3}")
    i += 1
"""


def _child(code, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(Path(__file__).parent)]))
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def _check_result_dir(d: Path) -> None:
    for f in d.iterdir():
        if f.name.startswith("."):
            continue  # a temp file the killed writer never renamed: never a result name
        if f.suffix == ".parquet":
            pd.read_parquet(f)
        elif f.suffix == ".json":
            json.loads(f.read_text())
        elif f.suffix == ".yaml":
            yaml.safe_load(f.read_text())
    if (d / "summary.json").is_file():
        res = load_result(d)  # summary.json is written last: the whole set is there
        assert all(len(getattr(res, t).columns) for t in TABLES)


@pytest.mark.parametrize("delay_s", [0.15, 0.6, 1.3])
def test_result_save_killed_midway_leaves_complete_files(tmp_path, delay_s):
    p = _child(SAVER, tmp_path)
    try:
        line = p.stdout.readline()
        assert line.strip() == "ready", p.stderr.read()
        time.sleep(delay_s)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    dirs = [d for d in tmp_path.iterdir() if d.is_dir()]
    for d in dirs:
        _check_result_dir(d)
    if not dirs:  # killed before the first mkdir: nothing to check but nothing half-written either
        assert not list(tmp_path.rglob("*.parquet"))


def _sweep_file(tmp_path: Path, n: int) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    f = tmp_path / "sw.yaml"
    f.write_text(yaml.safe_dump({"base": "base.yaml", "out": str(tmp_path / "out"),
                                 "grid": {"workload.num_requests": list(range(3, 3 + n))}}))
    return f


def test_killed_sweep_loses_no_finished_point_and_resumes(tmp_path, capsys):
    n = 8
    f = _sweep_file(tmp_path, n)
    p = subprocess.Popen([sys.executable, "-m", "memsim.cli", "sweep", str(f), "--workers", "1", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    pdir = tmp_path / "out" / "points"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and p.poll() is None:
            done = [x for x in pdir.glob("*.parquet")] if pdir.is_dir() else []
            if len(done) >= 2:
                break
            time.sleep(0.05)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    finished = sorted(x.name for x in pdir.glob("*.parquet"))
    assert finished, "no point finished before the kill (the sweep is too fast to test)"
    for x in finished:
        row = pd.read_parquet(pdir / x)
        assert len(row) == 1 and row["error"].iloc[0] == ""
    # the rerun keeps every finished point and runs only the rest
    rc, out, err = run_cli(capsys, ["sweep", f, "--workers", "1", "--json"])
    assert rc == 0, err
    info = json.loads(out.strip().splitlines()[-1])
    assert info["points"] == n
    assert info["skipped"] >= len(finished) and info["ran"] == n - info["skipped"]
    table = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert len(table) == n and (table["error"] == "").all()
    # a third run has nothing left to do
    rc, out, err = run_cli(capsys, ["sweep", f, "--workers", "1", "--json"])
    assert rc == 0 and json.loads(out.strip().splitlines()[-1])["ran"] == 0


def test_a_corrupt_point_file_is_run_again(tmp_path, capsys):
    f = _sweep_file(tmp_path, 2)
    rc, out, _ = run_cli(capsys, ["sweep", f, "--workers", "1", "--json"])
    assert rc == 0
    pts = sorted((tmp_path / "out" / "points").glob("*.parquet"))
    pts[0].write_bytes(pts[0].read_bytes()[:20])  # as if torn (not possible with rename, but a disk can)
    rc, out, _ = run_cli(capsys, ["sweep", f, "--workers", "1", "--json"])
    info = json.loads(out.strip().splitlines()[-1])
    assert rc == 0 and info["ran"] == 1 and info["skipped"] == 1


def test_a_sweep_over_model_writes_its_results(tmp_path, capsys):
    _sweep_over(tmp_path, capsys, "model", ["llama-3.1-8b", "qwen2.5-7b"])


def test_a_sweep_over_seed_writes_its_results(tmp_path, capsys):
    _sweep_over(tmp_path, capsys, "seed", [1, 2])


def _sweep_over(tmp_path, capsys, path, values):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    f = tmp_path / "sw.yaml"
    f.write_text(yaml.safe_dump({"base": "base.yaml", "out": str(tmp_path / "out"), "grid": {path: values}}))
    rc, out, err = run_cli(capsys, ["sweep", f, "--workers", "1", "--json"])
    assert rc == 0, err
    table = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert len(table) == 2 and list(table.columns).count(path) == 1
