"""Result.save as one transaction, from the Python API: a manifest, refusals, kept files."""
from __future__ import annotations

import hashlib
import json

import pytest

import memsim
from memsim.ground.errors import ConfigError
from memsim.sim.result import load_result


def test_manifest_lists_every_file_with_its_sha256(scenario, tmp_path):
    res = memsim.run(scenario(workload__num_requests=10), out=tmp_path / "r")
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["memsim"] == "result" and len(m["run_id"]) == 32
    on_disk = {p.name for p in (tmp_path / "r").iterdir()} - {"manifest.json"}
    assert set(m["files"]) == on_disk
    for name, digest in m["files"].items():
        assert hashlib.sha256((tmp_path / "r" / name).read_bytes()).hexdigest() == digest
    assert load_result(tmp_path / "r").equals(res)
    memsim.run(scenario(workload__num_requests=10), out=tmp_path / "r")
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["run_id"] != m["run_id"]


def test_api_refuses_a_users_folder_unless_forced(scenario, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "data.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="--force"):
        memsim.run(scenario(workload__num_requests=5), out=user)
    assert sorted(p.name for p in user.iterdir()) == ["data.csv"]
    res = memsim.run(scenario(workload__num_requests=5))
    res.save(user, force=True)
    assert (user / "data.csv").read_text() == "a,b\n1,2\n"
    assert load_result(user).equals(res)


@pytest.mark.parametrize("bad", ["", "/dev/null", "/proc/self/memsim"])
def test_api_bad_out(scenario, bad):
    with pytest.raises(ConfigError, match="out"):
        memsim.run(scenario(workload__num_requests=5), out=bad)


def test_load_result_of_a_file_or_nothing(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        load_result(tmp_path / "f")
    with pytest.raises(ConfigError, match="no such folder"):
        load_result(tmp_path / "none")
