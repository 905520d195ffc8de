"""The shipped comparison examples put the prefix cache under pressure, so eviction policies differ."""
from __future__ import annotations

from pathlib import Path

import yaml

import memsim

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_two_eviction_files_differ_only_in_the_policy():
    a = yaml.safe_load((SCEN / "eviction-pressure.yaml").read_text())
    b = yaml.safe_load((SCEN / "eviction-pressure-s3fifo.yaml").read_text())
    assert a["kv"]["prefix_cache"]["eviction"] == "lru" and b["kv"]["prefix_cache"]["eviction"] == "s3fifo"
    for d in (a, b):
        d.pop("name")
        d["kv"]["prefix_cache"].pop("eviction")
    assert a == b


def test_readme_compare_shows_policies_that_differ():
    lru = memsim.run(SCEN / "eviction-pressure.yaml").summary
    s3 = memsim.run(SCEN / "eviction-pressure-s3fifo.yaml").summary
    assert lru["preemptions"] == 0 and lru["completed"] == lru["requests"]       # the cache decides, not overload
    assert s3["prefix_hit_ratio"] > 1.05 * lru["prefix_hit_ratio"]              # S3-FIFO keeps more (5%+)
    assert s3["ttft_p50_s"] < lru["ttft_p50_s"]                                 # and prefills less
