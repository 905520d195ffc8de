"""The context window: reject or truncate prompts that leave no room, cap outputs at the window."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.ground.schema import validate
from memsim.sim.context import ContextConfig, fit_context


def test_reject_counts_and_caps():
    f = fit_context([10, 99, 100, 150, 50], [5, 5, 5, 5, 80], max_context=100)
    assert f.admitted.tolist() == [True, True, False, False, True]
    assert f.output_tokens.tolist() == [5, 1, 0, 0, 50]       # 99 + 1 = 100; 50 + 50 = 100
    assert f.counts() == {"context_rejected": 2, "context_truncated": 0, "context_output_capped": 2}
    assert (f.input_tokens + f.output_tokens <= 100)[f.admitted].all()


def test_truncate_keeps_the_prefix_and_one_output_token():
    f = fit_context([10, 100, 150], [5, 7, 9], max_context=100, over_limit="truncate")
    assert f.admitted.all() and f.input_tokens.tolist() == [10, 99, 99]
    assert f.output_tokens.tolist() == [5, 1, 1] and f.truncated.tolist() == [False, True, True]
    assert f.counts() == {"context_rejected": 0, "context_truncated": 2, "context_output_capped": 2}


def test_llama_3_1_8b_window_on_a_191k_prompt():
    f = fit_context([191_000, 4_000], [300, 300], max_context=131_072)
    assert f.admitted.tolist() == [False, True] and f.rejected == 1


def test_config_and_bad_values():
    c = validate(ContextConfig, {}, prefix="context")
    assert c.over_limit == "reject" and c.max_context is None
    with pytest.raises(ConfigError, match=r"context\.over_limit"):
        validate(ContextConfig, {"over_limit": "drop"}, prefix="context")
    with pytest.raises(ConfigError, match=r"context\.max_context"):
        validate(ContextConfig, {"max_context": 1}, prefix="context")
    with pytest.raises(ConfigError, match="max_context"):
        fit_context(np.array([1]), np.array([1]), max_context=1)
