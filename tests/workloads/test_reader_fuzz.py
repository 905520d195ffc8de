"""Readers under random corruption: every outcome is requests or one TraceError, never a crash."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memsim.ground.errors import TraceError
from memsim.workloads import open_workload

SAMPLES = {
    "mooncake": ('{"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [0, 1]}\n'
                 '{"timestamp": 1500, "input_length": 512, "output_length": 2, "hash_ids": [0]}\n'),
    "azure": ("TIMESTAMP,ContextTokens,GeneratedTokens\n"
              "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n"),
    "csv": "timestamp,input_tokens,output_tokens,h\n0.5,600,3,1 2\n0.75,20,1,3\n",
}
SPECS = {"mooncake": {"kind": "mooncake"}, "azure": {"kind": "azure"},
         "csv": {"kind": "csv", "hash_ids_column": "h"}}

edits = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]),
                           st.integers(0, 10_000), st.binary(min_size=1, max_size=3)),
                 min_size=1, max_size=4)


def corrupt(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, chunk in ops:
        i = pos % (len(b) + 1)
        if op == "insert":
            b[i:i] = chunk
        elif op == "delete":
            del b[i:i + len(chunk)]
        else:
            b[i:i + len(chunk)] = chunk
    return bytes(b)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=edits)
def test_corrupted_traces_fail_cleanly(tmp_path, kind, ops):
    path = tmp_path / f"t.{kind}"
    path.write_bytes(corrupt(SAMPLES[kind].encode(), ops))
    try:
        reqs = list(open_workload({**SPECS[kind], "path": str(path)}))
    except TraceError as e:
        msg = str(e)
        assert msg.startswith(str(path)) and "\n" not in msg, msg
        return
    t = [r.arrival_s for r in reqs]
    assert t == sorted(t) and all(r.input_tokens >= 1 and r.output_tokens >= 1 for r in reqs)
