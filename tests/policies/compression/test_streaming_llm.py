"""StreamingLLM: sinks plus the most recent tokens, by hand."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create


def test_keeps_sinks_and_recent_window(drive):
    pol = drive.start(create("compression", {"name": "streaming_llm", "sink_tokens": 1}),
                      np.full((1, 1, 10), 0.1), budget=4)
    assert drive.kept(pol.plan(0, 10)) == [0, 7, 8, 9]
    pol.observe(0, drive.row(10, {3: 0.9}))          # attention does not matter to it
    assert drive.kept(pol.plan(1, 11)) == [0, 8, 9, 10]
    assert drive.kept(pol.plan(2, 12)) == [0, 9, 10, 11]
    pol.check()


def test_aliases_and_bad_parameter():
    assert type(create("compression", "lm_infinite")).name == "streaming_llm"
    with pytest.raises(ConfigError):
        create("compression", {"name": "streaming_llm", "sink_tokens": -1})


def test_engine_bytes_follow_budget_fraction(llama8b):
    full = llama8b.kv_bytes_per_token
    assert create("compression", "streaming_llm").kv_bytes_per_token(llama8b) == full
    pol = create("compression", {"name": "streaming_llm", "budget_fraction": 0.25})
    assert pol.kv_bytes_per_token(llama8b) == full / 4
    with pytest.raises(ConfigError):
        create("compression", {"name": "streaming_llm", "budget_fraction": 1.5})
