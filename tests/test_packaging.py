"""One import name: the wheel installs ``memsim`` and nothing else, with its data files, and a
user's own ``policies.py`` / ``sim.py`` / ``reports.py`` cannot shadow it."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "-w", str(out), "--no-deps", "-q"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed: {proc.stderr[-2000:]}")
    (whl,) = out.glob("memsim-*.whl")
    return whl


def test_the_wheel_has_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"memsim"}, tops


def test_the_wheel_carries_what_a_run_needs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("memsim/hwmodels/h100_sxm.yaml", "memsim/workloads/models/llama-3.1-8b.yaml",
                   "memsim/scenarios/quickstart.yaml", "memsim/sim/engine.py", "memsim/ground/units.py",
                   "memsim/cli.py", "memsim/__main__.py"):
        assert needed in names, needed
    entry = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry[0]).decode()
    assert "memsim = memsim.cli:entry" in text


def test_user_files_named_like_the_folders_do_not_shadow_memsim(tmp_path):
    for name in ("policies.py", "sim.py", "reports.py", "workloads.py", "hwmodels.py"):
        (tmp_path / name).write_text("raise ImportError('the user file was imported')\n")
    code = ("import memsim; r = memsim.run(memsim.scenarios.path('quickstart'), "
            "overrides={'workload.num_requests': 30}); print(r.summary['completed'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "30", out.stderr
    out = subprocess.run([sys.executable, "-m", "memsim", "run", "--json", "--set", "workload.num_requests=30"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["completed"] == 30


def test_python_dash_m_memsim_help():
    out = subprocess.run([sys.executable, "-m", "memsim", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "memsim" in out.stdout and "run" in out.stdout


def test_public_api_names():
    import memsim
    for name in ("run", "load_scenario", "load_result", "Result", "replay", "mrc", "load_platform",
                 "load_model", "compare", "MemsimError", "ConfigError"):
        assert name in memsim.__all__ and getattr(memsim, name) is not None, name
    assert callable(memsim.policies.register) and callable(memsim.policies.create)
    assert callable(memsim.policies.describe) and callable(memsim.reports.render)
    assert set(memsim.__all__) <= set(dir(memsim))
