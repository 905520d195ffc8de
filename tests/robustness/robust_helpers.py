"""Helpers the robustness tests import (conftest.py puts this folder on sys.path)."""
from __future__ import annotations

import copy
from collections import Counter

import memsim.cli

#: bad-input cases checked in this session, per family (reported at the end of the run)
CASES: Counter = Counter()


def tiny_scenario() -> dict:
    """A valid scenario that runs in well under a second (5 short requests)."""
    return copy.deepcopy({
        "version": 1, "name": "tiny", "seed": 0,
        "platform": "h100_sxm", "model": "llama-3.1-8b",
        "workload": {
            "kind": "synthetic", "num_requests": 5,
            "arrivals": {"process": "poisson", "rate": "5 req/s"},
            "input_tokens": {"dist": "fixed", "value": 100},
            "output_tokens": {"dist": "fixed", "value": 4},
            "shared_prefix": {"prompts": 2, "tokens": 64},
            "hash_block_tokens": 32,
        },
        "scheduler": {"max_batch_size": 8, "max_batch_tokens": 1024},
        "kv": {"block_tokens": 16},
    })


def run_cli(capsys, argv):
    """``memsim ARGV`` in-process -> (exit status, stdout, stderr)."""
    try:
        rc = memsim.cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors and --help
        rc = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    return rc, out, err


def warm_up() -> None:
    """Import what the commands import (the engine, the catalogue) before timing a case:
    one ``memsim run`` / ``sweep`` / ``replay`` of a missing file, its stderr discarded."""
    import contextlib
    import io
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        for argv in (["run", "/nonexistent/warm.yaml"], ["sweep", "/nonexistent/warm.yaml"],
                     ["replay", "/nonexistent/warm.txt", "--format", "ids", "--policy", "lru",
                      "--capacity", "1"], ["hw", "show", "/nonexistent/warm.yaml"]):
            memsim.cli.main(argv)
