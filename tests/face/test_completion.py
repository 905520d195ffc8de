"""Shell completion through argcomplete (the optional extra memsim[completion])."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("argcomplete", reason="argcomplete is not installed (pip install 'memsim[completion]')")


def _complete(line: str, tmp_path) -> list[str]:
    out = tmp_path / "completions"
    env = dict(os.environ, _ARGCOMPLETE="1", _ARGCOMPLETE_IFS="\n", COMP_LINE=line, COMP_POINT=str(len(line)),
               _ARGCOMPLETE_STDOUT_FILENAME=str(out))
    subprocess.run([sys.executable, "-m", "memsim"], env=env, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out.read_text().split()


def test_commands_and_flags_complete(tmp_path):
    assert _complete("memsim mr", tmp_path) == ["mrc"]
    assert "--image-format" in _complete("memsim compare --ima", tmp_path)


def test_plain_runs_ignore_completion(capsys):
    from memsim.cli import main
    assert main(["policies", "--kind", "eviction", "--width", "100"]) == 0
    assert "lru" in capsys.readouterr().out
