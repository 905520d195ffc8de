"""Bad weights: and experts: sections: one line naming the file and the field, exit 2."""
from __future__ import annotations

import pytest
import yaml
from robust_helpers import CASES, run_cli

WEIGHTS = "scenarios/weights-llama70b-h100-dram.yaml"
EXPERTS = "scenarios/moe-mixtral-l40s-dram.yaml"

CASES_ = [
    (WEIGHTS, {"weights": {"placement": {"hbm": "80%", "dram": "40%"}}},
     "weights.placement: fractions sum to 120%; they must sum to 100%"),
    (WEIGHTS, {"weights": {"placement": {"hbm": "150%"}}}, "weights.placement.hbm: '150%' is not within"),
    (WEIGHTS, {"weights": {"placement": {"hbm": "50%", "nvm": "50%"}}},
     "weights.placement.nvm: unknown tier 'nvm'; weights may live in: hbm, dram, ssd, remote"),
    (WEIGHTS, {"parallelism": {"tp": 2}}, "parallelism.tp: weights and experts beyond HBM are modelled on one GPU"),
    (EXPERTS, {"experts": {"tier": "dram", "cache": {"capacity": 9}}},
     "experts.cache.capacity: capacity 9 exceeds the 8 experts of a layer"),
    (EXPERTS, {"experts": {"tier": "dram", "cache": {"capacity": "100 GiB"}}},
     "experts.cache.capacity: 100 GiB holds 304 experts; the model has only 256"),
    (EXPERTS, {"experts": {"tier": "dram", "cache": {"capacity": 6}}},
     "experts.cache.capacity: the expert cache (63.00 GiB) exceeds the"),
    (EXPERTS, {"experts": {"tier": "cxl", "cache": {"capacity": 2}}}, "experts.tier: unknown tier 'cxl'"),
    (EXPERTS, {"experts": {"tier": "hbm", "cache": {"capacity": 2}}}, "experts.tier: tier 'hbm' is hbm"),
    (EXPERTS, {"model": "llama-3.1-8b"}, "experts: model llama-3.1-8b is dense (no moe: section)"),
    (EXPERTS, {"experts": {"tier": "dram", "cache": {"capacity": 2, "eviction": "belady"}}},
     "experts.cache.eviction: 'belady' needs the future accesses"),
    (EXPERTS, {"weights": {"placement": {"hbm": "50%", "dram": "50%"}}}, "experts: give experts"),
]


@pytest.mark.parametrize("base, change, message", CASES_, ids=[c[2][:40] for c in CASES_])
def test_bad_beyond_hbm_input_is_one_line_exit_2(tmp_path, capsys, base, change, message):
    data = yaml.safe_load(open(base))
    data.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    rc, out, err = run_cli(capsys, ["run", path, "--quiet"])
    CASES["beyond_hbm"] += 1
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(path) in lines[0] and message in lines[0], lines[0]
