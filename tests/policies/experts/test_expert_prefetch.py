"""Expert-prefetch policies: the registry family, hand-worked plans, budgets, learning."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create, describe, names, protocol_for
from memsim.policies.experts import Affinity, ExpertPrefetch, Hottest, Lookahead
from memsim.workloads.experts import synthetic_routing

SHAPE = {"layers": 4, "experts": 8, "budget": 2}


def nothing_cached(layer, expert):
    return False


def test_family_is_registered_with_papers():
    assert {"none", "lookahead", "hottest", "affinity"} <= set(names("expert_prefetch"))
    assert protocol_for("expert_prefetch") is ExpertPrefetch
    rows = {r["name"]: r for r in describe() if r["kind"] == "expert_prefetch"}
    assert "Read-ME" in rows["lookahead"]["paper"] and "D^{2}MoE" in rows["hottest"]["paper"]
    assert "Inter-Layer Expert Affinity" in rows["affinity"]["paper"]


def test_parameters_override_the_engine_budget():
    p = create("expert_prefetch", {"name": "lookahead", "budget": 1, "depth": 2}, **SHAPE)
    assert p.budget == 1 and p.lookahead_layers == 2
    assert create("expert_prefetch", "none", **SHAPE).plan(0, [1, 2], {}, nothing_cached) == []
    with pytest.raises(ConfigError, match="depth"):
        create("expert_prefetch", {"name": "lookahead", "depth": 0}, **SHAPE)
    with pytest.raises(ConfigError, match="did you mean 'hottest'"):
        create("expert_prefetch", "hotest", **SHAPE)


def test_lookahead_names_every_known_expert_nearest_layer_first():
    p = Lookahead(layers=4, experts=8, budget=3, depth=2)
    plan = p.plan(0, [0, 1], {1: [5, 6], 2: [2, 3]}, nothing_cached)
    assert plan == [(1, 5), (1, 6), (2, 2), (2, 3)]     # the caller keeps cached ones, fetches 3
    assert p.plan(3, [0, 1], {}, nothing_cached) == []   # nothing known past the last layer
    p.check()


def test_hottest_keeps_the_next_layers_most_used_experts():
    p = Hottest(layers=2, experts=4, budget=2)
    # the history: layer 1 used expert 3 twice, expert 0 once
    for cur0, cur1 in (([0], [3]), ([1], [3]), ([2], [0])):
        p.plan(0, cur0, {}, nothing_cached)
        p.plan(1, cur1, {}, nothing_cached)
        p.check()
    assert p.plan(0, [0], {}, nothing_cached) == [(1, 3), (1, 0)]
    # from the last layer it names the first layer's hottest (the next iteration); 0, 1, 2 once
    # each before this call, 3 now: the ties go to the lower id
    assert p.plan(1, [3], {}, nothing_cached) == [(0, 0), (0, 1)]


def test_hottest_with_decay_forgets():
    p = Hottest(layers=2, experts=4, budget=2, decay=0.5)
    for _ in range(5):
        p.plan(1, [2], {}, nothing_cached)
    p.plan(1, [1], {}, nothing_cached)
    p.plan(1, [1], {}, nothing_cached)
    assert p.plan(0, [0], {}, nothing_cached) == [(1, 1), (1, 2)]


def test_affinity_learns_a_deterministic_successor_chain():
    r = synthetic_routing(tokens=200, layers=4, experts=8, active=2, skew=0.5, correlation=1.0,
                          rng=np.random.default_rng(3))
    p = Affinity(layers=4, experts=8, budget=2)
    hits = total = 0
    for t in range(200):
        for layer in range(4):
            plan = p.plan(layer, sorted(r[t, layer].tolist()), {}, nothing_cached)
            assert len(plan) <= 2 and all(tl == layer + 1 for tl, _ in plan)
            if t >= 100 and layer < 3:
                hits += len({e for _, e in plan} & set(r[t, layer + 1].tolist()))
                total += 2
        p.check()
    assert hits / total > 0.95


@pytest.mark.parametrize("name", ["lookahead", "hottest", "affinity"])
def test_every_plan_targets_later_layers_within_the_budget(name):
    rng = np.random.default_rng(0)
    r = synthetic_routing(tokens=60, layers=4, experts=8, active=2, skew=1.0, correlation=0.5, rng=rng)
    p = create("expert_prefetch", name, layers=4, experts=8, budget=3)
    for t in range(60):
        for layer in range(4):
            up = {layer + d: sorted(r[t, layer + d].tolist())
                  for d in range(1, p.lookahead_layers + 1) if layer + d < 4}
            plan = p.plan(layer, sorted(r[t, layer].tolist()), up, nothing_cached)
            assert all(tl != layer and 0 <= tl < 4 and 0 <= e < 8 for tl, e in plan), plan
            assert len(set(plan)) == len(plan)
            if name == "lookahead":
                assert plan == [(tl, e) for tl in sorted(up) for e in up[tl]]
            else:
                assert len(plan) <= 3
            p.check()
