"""Robustness suite fixtures: ``cli_error`` checks the bad-input contract and counts cases.

``cli_error(argv, *needles)`` runs ``memsim`` in-process and asserts: exit status 2,
exactly one stderr line, no traceback, and each needle (file name, field, line)
in that line.  Every call is counted so the run ends with the number of bad
inputs tried (see docs/robustness.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from robust_helpers import CASES, run_cli  # noqa: E402


@pytest.fixture
def cli_error(capsys):
    """``cli_error(argv, *needles, family=)`` -> the one stderr line, after checking the contract."""
    def check(argv, *needles, family="cli"):
        CASES[family] += 1
        rc, out, err = run_cli(capsys, argv)
        lines = err.strip().splitlines()
        assert rc == 2, f"exit status {rc} (want 2) for {argv}; stderr: {err!r}; stdout: {out[-300:]!r}"
        assert "Traceback" not in err, err
        assert len(lines) == 1, f"want one stderr line, got {len(lines)}: {err!r}"
        line = lines[0]
        assert line.startswith("memsim"), line
        for n in needles:
            assert str(n) in line, f"{n!r} not named in: {line}"
        return line
    return check


def pytest_terminal_summary(terminalreporter):
    if CASES:
        total = sum(CASES.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"robustness: {total} bad-input cases checked ({parts})")
