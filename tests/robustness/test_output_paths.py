"""Output paths (issue 17): every command that writes checks its paths before any work starts.

Table-driven: each writing command's output flag gets each bad path; every case must be one
stderr line naming the flag and the path, exit 2, no traceback, within a time bound, with the
simulation (or trace read, or fit) never started and nothing already at the path changed.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from robust_helpers import tiny_scenario

from memsim.ground.errors import ConfigError
from memsim.ground.files import check_output, safe_name

#: a bad path is refused up front, so every case is quick (a hang or a full run is a failure)
BOUND_S = 20.0


@pytest.fixture
def no_work(monkeypatch):
    """Make every command's real work fail loudly: a refused path must be refused before it."""
    import memsim.policies.mrc
    import memsim.sim.compress
    import memsim.sim.engine
    import memsim.sim.kernel
    import memsim.sim.train.result
    import memsim.studies.compare
    import memsim.studies.sweep
    import memsim.validate
    import memsim.validate.kernelcal

    def boom(*a, **k):
        raise AssertionError("the work started before the output path was checked")
    monkeypatch.setattr(memsim.sim.engine.Engine, "run", boom)
    for mod, name in ((memsim.studies.compare, "run_scenarios"), (memsim.studies.sweep, "run_sweep"),
                      (memsim.policies.mrc, "mrc"), (memsim.sim.kernel, "sweep"),
                      (memsim.sim.compress, "recall_curves"), (memsim.sim.train.result, "evaluate"),
                      (memsim.validate.kernelcal, "calibrate"), (memsim.validate, "calibrate")):
        monkeypatch.setattr(mod, name, boom)


@pytest.fixture
def inputs(tmp_path):
    """Valid inputs for every command: two scenarios, a sweep, an id trace."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    b = tiny_scenario()
    b["name"] = "b"
    b["kv"]["block_tokens"] = 32
    (d / "b.yaml").write_text(yaml.safe_dump(b))
    (d / "sweep.yaml").write_text(yaml.safe_dump({"base": "a.yaml",
                                                  "grid": {"scheduler.max_batch_size": [4, 8]}}))
    (d / "ids.txt").write_text("\n".join(str(i % 7) for i in range(200)) + "\n")
    return d


def _commands(inp: Path, result: Path) -> dict:
    """name -> (argv before the path, flag, kind, suffix of a good file name)."""
    return {
        "run": (["run", inp / "a.yaml", "--quiet"], "--out", "dir", ""),
        "compare": (["compare", inp / "a.yaml", inp / "b.yaml", "--quiet", "--workers", "1"],
                    "--out", "dir", ""),
        "sweep": (["sweep", inp / "sweep.yaml", "--quiet", "--workers", "1"], "--out", "dir", ""),
        "validate": (["validate", "--quick", "--quiet"], "--out", "dir", ""),
        "report": (["report", result], "--out", "file", ".html"),
        "mrc-out": (["mrc", inp / "ids.txt", "--format", "ids", "--quiet"], "--out", "file", ".csv"),
        "mrc-html": (["mrc", inp / "ids.txt", "--format", "ids", "--quiet"], "--html", "file", ".html"),
        "attention-io": (["attention-io", "--sweep", "--n", "256", "--d", "16"], "--out", "file", ".csv"),
        "compress": (["compress", "--curves", "--quiet", "--points", "2"], "--out", "file", ".csv"),
        "train": (["train", "--hw", "h100_sxm", "--model", "llama-3.1-8b", "--global-batch", "8",
                   "--seq-len", "1024"], "--report", "file", ".html"),
        "calibrate": (["calibrate", "--kernels", inp, "--hw", "h100_sxm"], "--out", "file", ".yaml"),
    }


@pytest.fixture(scope="module")
def saved_result(tmp_path_factory):
    import memsim
    d = tmp_path_factory.mktemp("res") / "r"
    memsim.run(tiny_scenario(), out=d)
    return d


def _snapshot(p: Path):
    """What is at ``p`` (and under it), to check nothing changed."""
    if p.is_symlink():
        return ("link", os.readlink(p))
    if p.is_dir():
        return {str(f.relative_to(p)): f.read_bytes() if f.is_file() else None
                for f in sorted(p.rglob("*"))}
    if p.is_file():
        return p.read_bytes()
    return None


def _bad_paths(tmp: Path, kind: str, suffix: str) -> list[tuple[str, Path | str, Path | None]]:
    """(case, path to give, what must stay unchanged)."""
    tmp.mkdir(parents=True, exist_ok=True)
    a_file = tmp / f"existing{suffix or '.txt'}"
    a_file.write_text("keep me\n")
    a_dir = tmp / "a-folder"
    a_dir.mkdir()
    (a_dir / "mine.txt").write_text("mine\n")
    target = tmp / f"target{suffix or ''}"
    if kind == "dir":
        target.mkdir()
        (target / "report.html").write_text("<p>mine</p>")
    else:
        target.write_text("the link's target\n")
    link = tmp / f"link{suffix}"
    link.symlink_to(target)
    fifo = tmp / f"fifo{suffix}"
    os.mkfifo(fifo)
    cases = [("empty", "", None), ("dev-null", "/dev/null", None),
             ("proc", f"/proc/self/memsim-out{suffix}", None),
             ("symlink", link, target), ("fifo", fifo, None)]
    if kind == "dir":
        cases += [("existing-file", a_file, a_file), ("parent-is-file", a_file / "sub", a_file),
                  ("user-folder", a_dir, a_dir)]
    else:
        cases += [("a-folder", a_dir, a_dir), ("missing-parent", tmp / "nope" / f"x{suffix}", None),
                  ("parent-is-file", a_file / f"x{suffix}", a_file)]
    return cases


COMMANDS = ["run", "compare", "sweep", "validate", "report", "mrc-out", "mrc-html", "attention-io",
            "compress", "train", "calibrate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_output_paths_refused_before_work(command, tmp_path, inputs, saved_result, no_work,
                                              cli_error):
    argv, flag, kind, suffix = _commands(inputs, saved_result)[command]
    before_result = _snapshot(saved_result)
    for case, path, keep in _bad_paths(tmp_path / "out", kind, suffix):
        before = _snapshot(Path(keep)) if keep is not None else None
        t0 = time.perf_counter()
        line = cli_error([*argv, flag, path], flag, family="output-path")
        assert time.perf_counter() - t0 < BOUND_S, f"{command} {case} took too long"
        if str(path):
            assert str(path) in line, f"{case}: path not named in {line}"
        if keep is not None:
            assert _snapshot(Path(keep)) == before, f"{command} {case}: {keep} changed"
    assert _snapshot(saved_result) == before_result


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder no file can be created in: a read-only tmpfs where root can mount one,
    else a chmod 0555 folder (which binds only a user without root's override)."""
    d = tmp_path / "ro"
    d.mkdir()
    mounted = False
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(d)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip("running as root and cannot mount a read-only tmpfs")
        mounted = True
    else:
        d.chmod(0o555)
    yield d
    if mounted:
        subprocess.run(["umount", str(d)], check=False)
    else:
        d.chmod(0o755)


@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_folder_refused(command, read_only_dir, inputs, saved_result, no_work, cli_error):
    argv, flag, kind, suffix = _commands(inputs, saved_result)[command]
    path = read_only_dir / f"out{suffix}"
    line = cli_error([*argv, flag, path], flag, "cannot write", family="output-path")
    assert str(path) in line


def test_check_output_accepts_good_paths(tmp_path):
    assert check_output(None) is None
    assert check_output(tmp_path / "new.csv") == tmp_path / "new.csv"
    (tmp_path / "old.csv").write_text("x")
    assert check_output(tmp_path / "old.csv") == tmp_path / "old.csv"       # replaced atomically
    assert check_output(tmp_path / "a" / "b" / "c", "dir") == tmp_path / "a" / "b" / "c"  # parents made
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("x")
    assert check_output(tmp_path / "user", "dir", force=True) == tmp_path / "user"
    assert check_output(tmp_path / "empty-dir", "dir") is not None
    if os.path.isdir("/dev/shm"):      # a tmpfs under /dev where files are ordinary
        assert check_output("/dev/shm/memsim-check-only", "dir") == Path("/dev/shm/memsim-check-only")


@pytest.mark.parametrize("bad", [123, True, b"bytes", "   "])
def test_check_output_wrong_types(bad):
    with pytest.raises(ConfigError, match="--out"):
        check_output(bad)


@pytest.mark.parametrize("label,want", [("..", "run"), ("...", "run"), (".hidden", "hidden"),
                                        ("a/b", "a_b"), ("quick start", "quick_start"),
                                        ("quickstart", "quickstart"), ("über-1.5", "über-1.5")])
def test_safe_name(label, want):
    assert safe_name(label) == want
    assert "/" not in safe_name(label) and safe_name(label) not in (".", "..")


def test_compare_label_of_dots_stays_inside_out(tmp_path, capsys):
    """A scenario file named ``...yaml`` (stem ``..``) must not write into OUT's parent."""
    from robust_helpers import run_cli
    (tmp_path / "...yaml").write_text(yaml.safe_dump(tiny_scenario()))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({**tiny_scenario(), "name": "b", "seed": 3}))
    (tmp_path / "cmp").mkdir()
    rc, out, err = run_cli(capsys, ["compare", tmp_path / "...yaml", tmp_path / "b.yaml",
                                    "--workers", "1", "--quiet", "--out", tmp_path / "cmp" / "inner"])
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["inner"]
    inner = sorted(p.name for p in (tmp_path / "cmp" / "inner").iterdir())
    assert "b" in inner and "report.html" in inner and "manifest.json" in inner
    from memsim.sim.result import load_result
    for name in inner:
        if name not in ("b", "report.html", "manifest.json"):
            load_result(tmp_path / "cmp" / "inner" / name)      # the ``..`` scenario, safely named
