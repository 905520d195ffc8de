"""The context window in serving: prompts over max_context rejected (with the reason) or
truncated, generation stopped at the window, counters in the summary."""
from __future__ import annotations

import pytest

import memsim
from memsim.sim.context import ContextWindow
from memsim.workloads.request import Request


def two_requests(scenario, prompts, outputs, **over):
    """A workload of fixed-length requests: one synthetic request per (prompt, output)."""
    return scenario(workload={"kind": "synthetic", "num_requests": len(prompts),
                              "arrivals": {"process": "poisson", "rate": "1 req/s"},
                              "input_tokens": {"dist": "fixed", "value": prompts[0]},
                              "output_tokens": {"dist": "fixed", "value": outputs[0]}}, **over)


def test_a_191k_prompt_is_rejected_with_its_reason(scenario):
    res = memsim.run(two_requests(scenario, [191_000], [16], scheduler={"max_batch_tokens": 8192}))
    s = res.summary
    assert s["context_rejected"] == 1 and s["rejected"] == 1 and s["completed"] == 0
    assert s["context_truncated"] == 0 and s["context_output_capped"] == 0
    row = res.requests.iloc[0]
    assert row["status"] == "rejected"
    assert row["reason"] == "prompt_exceeds_context: 191000 >= max_context 131072"
    assert row["generated_tokens"] == 0


def test_truncate_keeps_the_window_and_generation_stops_there(scenario):
    sc = two_requests(scenario, [3000], [500], context={"over_limit": "truncate", "max_context": 2048})
    res = memsim.run(sc)
    row = res.requests.iloc[0]
    # the prompt keeps its first 2047 tokens: one output token fits in the window
    assert row["input_tokens"] == 2047 and row["output_tokens"] == 1 and row["generated_tokens"] == 1
    assert row["status"] == "completed"
    s = res.summary
    assert (s["context_truncated"], s["context_output_capped"], s["context_rejected"]) == (1, 1, 0)


def test_output_is_capped_at_the_window(scenario):
    res = memsim.run(two_requests(scenario, [1000], [400], context={"max_context": 1200}))
    row = res.requests.iloc[0]
    assert row["input_tokens"] == 1000 and row["output_tokens"] == 200 and row["generated_tokens"] == 200
    assert res.summary["context_output_capped"] == 1


def test_requests_inside_the_window_are_untouched_and_counters_zero(scenario):
    res = memsim.run(scenario(workload__num_requests=30))
    s = res.summary
    assert (s["context_rejected"], s["context_truncated"], s["context_output_capped"]) == (0, 0, 0)


def test_truncation_cuts_the_prefix_hashes_and_leaves_the_workload_request_alone():
    gate = ContextWindow(max_context=1000, over_limit="truncate")
    req = Request(request_id=0, arrival_s=0.0, input_tokens=1500, output_tokens=10,
                  hash_ids=tuple(range(6)), hash_block_tokens=256)
    got, reason = gate.admit(req)
    assert reason is None and got.input_tokens == 999 and got.output_tokens == 1
    assert got.hash_ids == (0, 1, 2, 3)            # ceil(999 / 256) blocks of the kept prefix
    assert req.input_tokens == 1500 and req.hash_ids == tuple(range(6))


def test_bad_context_values_name_the_field(scenario):
    with pytest.raises(memsim.ConfigError, match="context.max_context"):
        memsim.run(scenario(context={"max_context": 1}))
    with pytest.raises(memsim.ConfigError, match="context.over_limit"):
        memsim.run(scenario(context={"over_limit": "drop"}))
