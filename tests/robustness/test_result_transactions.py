"""Result folders as transactions (issue 21): a kill, a full disk or a mixed folder never passes
for a result.

- ``kill -9`` at seeded moments while a result is saved over an older one: every outcome
  loads as exactly the old run or exactly the new one, and the next write leaves no debris.
- A full disk (a small tmpfs where the test may mount one, and an injected
  ``OSError(ENOSPC)`` everywhere): one line, exit 2, the old result intact.
- A folder whose files do not match its manifest is refused in one line.
- Sweeps: a second sweep into a locked folder refuses; ``kill -9`` of a sweep leaves no
  pool worker behind.
"""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from robust_helpers import run_cli, tiny_scenario

import memsim
from memsim.ground import files
from memsim.ground.errors import ConfigError
from memsim.sim.result import load_result

REPO = Path(__file__).resolve().parents[2]

SAVER = r"""
import sys, time, pandas as pd
import memsim
from robust_helpers import tiny_scenario
res = memsim.run(tiny_scenario())
res.summary["marker"] = sys.argv[2]
n = int(sys.argv[3])
res.requests = pd.concat([res.requests] * n, ignore_index=True)
res.iterations = pd.concat([res.iterations] * n, ignore_index=True)
print("saving", flush=True)
t0 = time.perf_counter()
res.save(sys.argv[1])
print(f"saved {time.perf_counter() - t0:.3f}", flush=True)
"""


def _saver(out: Path, marker: str, n: int):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(Path(__file__).parent)]))
    return subprocess.Popen([sys.executable, "-c", SAVER, str(out), marker, str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _debris(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if files._DEBRIS.match(p.name))


def test_kill_during_save_leaves_old_or_new(tmp_path):
    """Seeded kill times across the save: the folder loads as one run, never a mix."""
    out = tmp_path / "r"
    n = 20000
    p = _saver(out, "old", n)
    so, se = p.communicate(timeout=300)
    assert p.returncode == 0, se
    save_s = float(so.split()[-1])
    first = load_result(out)
    base_req, base_it = len(first.requests) // n, len(first.iterations) // n
    reps = {"old": n}
    rng = random.Random(21)
    outcomes = []
    for i in range(8):
        reps[f"new{i}"] = n + 1 + i
        p = _saver(out, f"new{i}", reps[f"new{i}"])
        assert p.stdout.readline().strip() == "saving"
        time.sleep(rng.uniform(0.0, save_s * 1.3))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        p.stdout.close()
        p.stderr.close()
        got = load_result(out)              # raises on a folder that mixes runs
        marker = got.summary["marker"]
        outcomes.append(marker)
        assert marker in (outcomes[-2] if len(outcomes) > 1 else "old", f"new{i}")
        assert len(got.requests) == base_req * reps[marker]
        assert len(got.iterations) == base_it * reps[marker]
    # the next write cleans whatever the killed writers left
    files._CLEANED.clear()
    memsim.run(tiny_scenario(), out=out)
    assert _debris(tmp_path) == [] and _debris(out) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_debris_of_dead_writers_is_cleaned(tmp_path):
    out = tmp_path / "r"
    memsim.run(tiny_scenario(), out=out)
    pid = _dead_pid()
    (tmp_path / f".r.{pid}-abc123.partial").mkdir()
    (tmp_path / f".r.{pid}-abc123.partial" / "requests.parquet").write_bytes(b"half")
    (out / f".summary.json.{pid}-def456.tmp").write_text("{")
    files._CLEANED.clear()
    memsim.run(tiny_scenario(), out=out)
    assert _debris(tmp_path) == [] and _debris(out) == []


def test_moved_aside_result_is_restored(tmp_path):
    """A kill between the two renames of the fallback swap leaves ``.NAME.PID-x.old``; the next
    write moves it back before anything else."""
    out = tmp_path / "r"
    res = memsim.run(tiny_scenario(), out=out)
    pid = _dead_pid()
    aside = tmp_path / f".r.{pid}-0ld000.old"
    out.rename(aside)
    files._CLEANED.clear()
    memsim.run({**tiny_scenario(), "name": "other"}, out=tmp_path / "sibling")
    assert not aside.exists()
    assert load_result(out).equals(res)


def test_swap_without_rename_exchange(tmp_path, monkeypatch):
    out = tmp_path / "r"
    memsim.run(tiny_scenario(), out=out)
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    res = memsim.run(tiny_scenario(), seed=7, out=out)
    assert load_result(out).equals(res)
    assert _debris(tmp_path) == []


def _mixed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    memsim.run(tiny_scenario(), seed=1, out=a)
    memsim.run(tiny_scenario(), seed=2, out=b)
    return a, b


def test_mixed_folder_refused(tmp_path, cli_error):
    a, b = _mixed(tmp_path)
    (a / "requests.parquet").write_bytes((b / "requests.parquet").read_bytes())
    cli_error(["report", a], str(a), "requests.parquet", "manifest.json", family="result-folder")
    with pytest.raises(ConfigError, match="does not match"):
        load_result(a)


def test_missing_and_stray_files_refused(tmp_path, cli_error):
    a, b = _mixed(tmp_path)
    (a / "tiers.parquet").unlink()
    cli_error(["report", a], "tiers.parquet", "missing", family="result-folder")
    memsim.run(tiny_scenario(), seed=1, out=a)
    (a / "extra.parquet").write_bytes((b / "links.parquet").read_bytes())
    cli_error(["report", a], "extra.parquet", "not part of run", family="result-folder")
    (a / "extra.parquet").unlink()
    (a / "manifest.json").write_text("[1, 2")
    cli_error(["report", a], "manifest.json", family="result-folder")


def test_report_rebuilt_in_place_still_loads(tmp_path, capsys):
    """report.html is derived: ``memsim report DIR`` rewrites it, and the folder stays valid."""
    a = tmp_path / "a"
    rc, _, err = run_cli(capsys, ["run", "--quiet", "--out", a])
    assert rc == 0, err
    rc, _, err = run_cli(capsys, ["report", a, "--title", "again"])
    assert rc == 0, err
    load_result(a)
    assert "report.html" in json.loads((a / "manifest.json").read_text())["derived"]


def test_legacy_folder_without_manifest_loads(tmp_path):
    a = tmp_path / "a"
    res = memsim.run(tiny_scenario(), out=a)
    (a / "manifest.json").unlink()
    assert load_result(a).equals(res)


def test_user_files_kept_and_force_needed(tmp_path, capsys, cli_error):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "report.html").write_text("<p>my own report</p>")
    (user / "notes").mkdir()
    (user / "notes" / "a.txt").write_text("notes")
    cli_error(["run", "--quiet", "--out", user], "--out", "--force", family="result-folder")
    assert (user / "report.html").read_text() == "<p>my own report</p>"
    rc, _, err = run_cli(capsys, ["run", "--quiet", "--no-report", "--out", user, "--force"])
    assert rc == 0, err
    assert (user / "report.html").read_text() == "<p>my own report</p>"   # not written: --no-report
    assert (user / "notes" / "a.txt").read_text() == "notes"
    load_result(user)
    # a memsim result now: a plain rerun may replace it, and the user's files stay
    rc, _, err = run_cli(capsys, ["run", "--quiet", "--no-report", "--out", user, "--seed", "4"])
    assert rc == 0, err
    assert (user / "notes" / "a.txt").read_text() == "notes"
    assert load_result(user).scenario["seed"] == 4


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["parquet", "text", "report"])
def test_full_disk_injected_run(where, tmp_path, monkeypatch, cli_error):
    out = tmp_path / "r"
    old = memsim.run(tiny_scenario(), out=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if where == "parquet":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", _enospc)
    elif where == "text":
        monkeypatch.setattr(files.os, "fsync", _enospc)
    else:
        from memsim.reports import html
        monkeypatch.setattr(html, "atomic_write_text",
                            lambda path, text: files.atomic_write_with(path, _enospc))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({**tiny_scenario(), "seed": 9}))
    line = cli_error(["run", tmp_path / "s.yaml", "--quiet", "--out", out], "cannot write",
                     "disk is full", family="full-disk")
    assert "Traceback" not in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert load_result(out).equals(old)
    assert _debris(tmp_path) == []


def test_full_disk_injected_sweep(tmp_path, monkeypatch, cli_error):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump({"base": "a.yaml",
                                                     "grid": {"scheduler.max_batch_size": [4, 8]}}))
    monkeypatch.setattr(files.os, "fsync", _enospc)
    cli_error(["sweep", tmp_path / "sw.yaml", "--quiet", "--workers", "1", "--out", tmp_path / "o"],
              "cannot write", "disk is full", family="full-disk")


@pytest.fixture
def small_tmpfs(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(d)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (the injected-OSError tests cover this)")
    yield d
    subprocess.run(["umount", str(d)], check=False)


def test_full_disk_real_tmpfs(small_tmpfs, tmp_path, capsys, cli_error):
    out = small_tmpfs / "r"
    old = memsim.run(tiny_scenario(), out=out)        # small: fits, with its manifest
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    big = {**tiny_scenario(), "seed": 3}
    big["workload"] = {**big["workload"], "num_requests": 4000}
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(big))
    cli_error(["run", tmp_path / "big.yaml", "--quiet", "--no-report", "--out", out], "cannot write",
              family="full-disk")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert load_result(out).equals(old)
    assert _debris(small_tmpfs) == []


def test_second_sweep_into_locked_folder_refuses(tmp_path, cli_error):
    from memsim.studies.sweep import _Lock
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump({"base": "a.yaml",
                                                     "grid": {"scheduler.max_batch_size": [4, 8]}}))
    out = tmp_path / "o"
    with _Lock(out):
        cli_error(["sweep", tmp_path / "sw.yaml", "--quiet", "--workers", "1", "--out", out],
                  "another memsim sweep", f"pid {os.getpid()}", family="sweep-lock")
    assert not (out / "points").exists()


def test_kill_sweep_leaves_no_orphans(tmp_path):
    psutil = pytest.importorskip("psutil")
    scen = tiny_scenario()
    scen["workload"] = {**scen["workload"], "num_requests": 6000,
                        "arrivals": {"process": "poisson", "rate": "50 req/s"}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(scen))
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump({"base": "a.yaml",
                                                     "grid": {"scheduler.max_batch_size": [4, 8, 16, 32]}}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-m", "memsim", "sweep", str(tmp_path / "sw.yaml"), "--quiet",
                          "--workers", "2", "--out", str(tmp_path / "o")], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(p.pid)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        workers = parent.children(recursive=True)
        time.sleep(0.1)
    assert len(workers) >= 2, "the sweep's pool never started"
    assert p.poll() is None, "the sweep ended before it could be killed"
    p.kill()
    p.wait(timeout=30)

    def alive(w):
        try:
            return w.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    deadline = time.time() + 15
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    left = [w.pid for w in workers if alive(w)]
    for pid in left:           # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"orphaned pool workers: {left}"
