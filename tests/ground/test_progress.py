"""Progress in every context: plain lines where stderr is not a terminal, tqdm's bar where it is."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

import memsim
from memsim.cli import main
from memsim.ground import progress as P
from memsim.ground.progress import Progress

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "scenarios" / "quickstart.yaml"
SMALL = {"workload.num_requests": 60}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def immediate(monkeypatch):
    """Show progress from the first item and print a line at every update."""
    monkeypatch.setattr(P, "DELAY_S", 0.0)
    monkeypatch.setattr(P, "LOG_INTERVAL_S", 0.0)


def test_plain_lines_carry_total_rate_and_eta(immediate):
    buf = io.StringIO()
    bar = Progress(total=12, done=3, label="runs", stream=buf)
    bar.advance()
    bar.close()
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("runs: 4/12 [33%] ") and "runs/s" in lines[0] and "ETA" in lines[0]
    assert "\r" not in buf.getvalue() and len(lines) == 2   # one line per update, one at the end


def test_quiet_unless_asked_or_interactive(immediate):
    asked_not = io.StringIO()
    Progress(total=5, stream=asked_not, enabled=None).advance()   # a log, not asked for
    off = io.StringIO()
    bar = Progress(total=5, stream=off, enabled=False)
    bar.advance()
    bar.close()
    assert asked_not.getvalue() == "" and off.getvalue() == ""


def test_short_runs_stay_silent():
    buf = io.StringIO()
    bar = Progress(total=3, stream=buf, delay_s=60)
    bar.advance(3)
    bar.close()
    assert buf.getvalue() == ""


def test_terminal_gets_the_tqdm_bar(immediate):
    term = _Terminal()
    bar = Progress(total=8, label="runs", stream=term, enabled=None)
    for _ in range(8):
        bar.advance()
    bar.close()
    text = term.getvalue()
    assert "\r" in text and "8/8" in text and "100%" in text


def test_run_reports_progress_with_a_total_on_non_tty_stderr(immediate, capsys):
    memsim.run(QUICK, overrides=SMALL, progress=True)
    err = capsys.readouterr().err
    assert "requests: 60/60 [100%]" in err and "simulated" in err


def test_trace_length_from_a_line_count(tmp_path):
    from memsim.workloads.length import expected_requests
    from memsim.workloads.spec import parse_workload_spec
    f = tmp_path / "t.jsonl"
    f.write_text("".join(f'{{"timestamp": {i}, "input_length": 10, "output_length": 2, "hash_ids": [1]}}\n'
                         for i in range(7)))
    spec = parse_workload_spec({"kind": "mooncake", "path": str(f)})
    assert expected_requests(spec) == 7
    assert expected_requests(parse_workload_spec({"kind": "mooncake", "path": str(f), "limit": 3})) == 3
    windowed = parse_workload_spec({"kind": "mooncake", "path": str(f), "end": "3 s"})
    assert expected_requests(windowed) is None      # a window: unknown until read


def test_compare_shows_progress_and_quiet_silences_it(immediate, capsys):
    args = ["compare", str(QUICK), str(QUICK), "--workers", "1", "--set", "workload.num_requests=40"]
    assert main(args) == 0
    assert "runs: 2/2 [100%]" in capsys.readouterr().err
    assert main(args + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_mrc_shows_progress_per_point(immediate, tmp_path, capsys):
    trace = tmp_path / "ids.txt"
    trace.write_text("".join(f"{i % 7}\n" for i in range(200)))
    assert main(["mrc", str(trace), "--format", "ids", "--policy", "fifo", "--capacities", "1,2,4",
                 "--workers", "1"]) == 0
    assert "points: 3/3 [100%]" in capsys.readouterr().err
    assert main(["mrc", str(trace), "--format", "ids", "--capacities", "1,2", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_replay_shows_progress_per_replay(immediate, tmp_path, capsys):
    trace = tmp_path / "ids.txt"
    trace.write_text("".join(f"{i % 7}\n" for i in range(200)))
    args = ["replay", str(trace), "--format", "ids", "--policy", "lru", "--policy", "fifo",
            "--capacity", "2", "--capacity", "4"]
    assert main(args) == 0
    assert "replays: 4/4 [100%]" in capsys.readouterr().err
    assert main(args + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""
