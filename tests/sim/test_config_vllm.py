"""vLLM's engine-argument names as aliases: in YAML and --set, stored under memsim's name."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.sim.vllm_names import ALIASES

REPO = Path(__file__).resolve().parents[2]
WL = {"kind": "synthetic", "num_requests": 3, "arrivals": {"process": "poisson", "rate": "2 req/s"},
      "input_tokens": {"dist": "fixed", "value": 10}, "output_tokens": {"dist": "fixed", "value": 2}}
#: a value for each alias that differs from memsim's default
VALUES = {"scheduler.max_num_seqs": 64, "scheduler.max_num_batched_tokens": 2048,
          "scheduler.enable_chunked_prefill": False, "kv.block_size": 32,
          "kv.gpu_memory_utilization": 0.8, "kv.enable_prefix_caching": False,
          "parallelism.tensor_parallel_size": 2}


def nested(path: str, value) -> dict:
    out: dict = {}
    cur = out
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def field(scen, path):
    for p in path.split("."):
        scen = getattr(scen, p)
    return scen


def base(**over):
    return {"platform": "h100_sxm", "model": "llama-3.1-8b", "workload": dict(WL), **over}


def test_every_alias_has_a_test_value():
    assert set(VALUES) == set(ALIASES)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_in_yaml_sets_the_canonical_field(alias):
    canon = ALIASES[alias]
    scen = memsim.load_scenario({**base(), **nested(alias, VALUES[alias])})
    assert field(scen, canon) == VALUES[alias]
    dumped = json.dumps(scen.model_dump(mode="json"))
    assert alias.rsplit(".", 1)[1] not in dumped          # results record memsim's name


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_in_set_overrides_the_files_canonical_value(alias):
    canon = ALIASES[alias]
    scen = memsim.load_scenario(REPO / "scenarios" / "quickstart.yaml", {alias: VALUES[alias]})
    assert field(scen, canon) == VALUES[alias]


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_alias_and_canonical_together_is_an_error(alias):
    canon = ALIASES[alias]
    data = base()
    for path in (alias, canon):
        cur = data
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = VALUES[alias]
    with pytest.raises(ConfigError, match=re.escape(f"{alias}: give {alias} (vLLM's name) or "
                                                    f"{canon}, not both")):
        memsim.load_scenario(data)
    with pytest.raises(ConfigError, match="set the same field"):
        memsim.load_scenario(base(), {alias: VALUES[alias], canon: VALUES[alias]})


def test_canonical_set_overrides_an_alias_in_the_file():
    scen = memsim.load_scenario(base(scheduler={"max_num_seqs": 8}),
                                {"scheduler.max_batch_size": 4})
    assert scen.scheduler.max_batch_size == 4


def test_cli_set_with_alias_runs(capsys):
    rc = main(["run", "quickstart", "--json", "--set", "scheduler.max_num_seqs=2",
               "--set", "workload.num_requests=20"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["mean_batch_size"] <= 2


def test_errors_name_the_alias_the_user_wrote(capsys, tmp_path):
    f = tmp_path / "v.yaml"
    f.write_text(json.dumps(base(scheduler={"max_num_seqs": 0},
                                 kv={"enable_prefix_caching": "yes"})))
    rc = main(["run", str(f)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 2
    assert "v.yaml: scheduler.max_num_seqs: Input should be greater than or equal to 1" in lines[0] \
        or "v.yaml: scheduler.max_num_seqs: Input should be greater than or equal to 1" in lines[1]
    assert any("v.yaml: kv.enable_prefix_caching: Input should be a valid boolean" in ln
               for ln in lines)


def test_a_vllm_name_in_the_wrong_place_points_at_memsims_field():
    with pytest.raises(ConfigError, match=re.escape(
            "max_num_seqs: unknown key; known: ") + ".*" + re.escape(
            "(vLLM's max_num_seqs: write scheduler.max_batch_size, or its alias "
            "scheduler.max_num_seqs)")):
        memsim.load_scenario(base(max_num_seqs=4))


def test_docs_table_matches_the_aliases():
    text = (REPO / "docs" / "vllm-names.md").read_text()
    rows = re.findall(r"^\| `--([a-z-]+)` \| `([a-z_.]+)` \| `([a-z_.]+)` \|", text, re.M)
    table = {alias: canon for _, alias, canon in rows}
    assert table == ALIASES
    for flag, alias, _ in rows:
        assert flag.replace("-", "_") == alias.rsplit(".", 1)[1]
