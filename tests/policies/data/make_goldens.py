"""Print golden hit counts of every built-in eviction policy on tiny_trace.txt.

Run ``python tests/policies/data/make_goldens.py > tests/policies/data/goldens.json``
after a deliberate behaviour change, and say why in the commit.
"""
import json
import pathlib

import numpy as np

from memsim.policies.replay import replay

HERE = pathlib.Path(__file__).parent
POLICIES = ["lru", "fifo", "clock", "lfu", "arc", "2q", "slru", "s3fifo", "sieve", "belady",
            "ttl", "advice"]
CAPACITIES = [5, 10, 20, 40]


def goldens() -> dict:
    ids = np.loadtxt(HERE / "tiny_trace.txt", dtype=np.int64)
    return {p: {str(c): replay(ids, p, c, engine="python").hits for c in CAPACITIES}
            for p in POLICIES}


if __name__ == "__main__":
    print(json.dumps(goldens(), indent=1))
