"""The summary flags a run whose arrivals outran the system (TTFT growing with arrival time)."""
import numpy as np
import pytest

import memsim
from memsim.commands.run import format_summary
from memsim.sim.overload import queue_growth


def test_a_linearly_growing_queue_is_overload_and_a_flat_one_is_not():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 1000, 400))
    flat = queue_growth(a, rng.exponential(0.2, a.size))
    assert not flat["overloaded"] and abs(flat["queue_growth_s_per_s"]) < 0.01
    grow = queue_growth(a, 0.5 * a + rng.exponential(0.2, a.size))
    assert grow["overloaded"] and grow["queue_growth_s_per_s"] == pytest.approx(0.5, abs=0.01)


def test_too_few_requests_or_no_time_spread_gives_no_verdict():
    assert not queue_growth(np.arange(10.0), np.arange(10.0))["overloaded"]
    same = queue_growth(np.zeros(100), np.arange(100.0))
    assert np.isnan(same["queue_growth_s_per_s"]) and not same["overloaded"]


def test_an_overloaded_run_says_so_in_one_line_and_a_stable_one_does_not():
    over = memsim.run("quickstart", overrides={"workload.num_requests": 300,
                                               "workload.arrivals.rate": "200 req/s"})
    assert over.summary["overloaded"] and over.summary["queue_growth_s_per_s"] > 0.02
    lines = [ln for ln in format_summary(over.summary).splitlines() if "arrivals exceed" in ln]
    assert len(lines) == 1
    calm = memsim.run("quickstart", overrides={"workload.num_requests": 300})
    assert not calm.summary["overloaded"]
    assert "arrivals exceed" not in format_summary(calm.summary)
