"""All config errors at once: each problem one line, exit 2; a single problem reads as before."""
from __future__ import annotations

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError, ConfigErrors, combine

WL = {"kind": "synthetic", "num_requests": 3, "arrivals": {"process": "poisson", "rate": "2 req/s"},
      "input_tokens": {"dist": "fixed", "value": 10}, "output_tokens": {"dist": "fixed", "value": 2}}


def scenario(**over):
    return {"platform": "h100_sxm", "model": "llama-3.1-8b", "workload": dict(WL), **over}


def run(capsys, tmp_path, data, *extra):
    f = tmp_path / "three.yaml"
    f.write_text(yaml.safe_dump(data))
    rc = main(["run", str(f), "--json", *extra])
    out, err = capsys.readouterr()
    return rc, err.strip().splitlines()


def test_three_mistakes_three_lines(capsys, tmp_path):
    rc, lines = run(capsys, tmp_path, scenario(scheduler={"max_batch_size": 0},
                                                kv={"block_tokens": "many", "colour": 1}))
    assert rc == 2 and len(lines) == 3, lines
    assert all(ln.startswith("memsim: error: ") and "three.yaml: " in ln for ln in lines)
    fields = [ln.split("three.yaml: ", 1)[1].split(":", 1)[0] for ln in lines]
    assert sorted(fields) == ["kv.block_tokens", "kv.colour", "scheduler.max_batch_size"]


def test_errors_across_sections_workload_and_overrides(capsys, tmp_path):
    wl = {**WL, "arrivals": {"process": "poisson", "rate": 5}}
    rc, lines = run(capsys, tmp_path, scenario(workload=wl, parallelism={"tp": 0},
                                                kv={"tiers": [{"tier": "dram"}]}),
                    "--set", "kv.tiers.hdd.capacity=1 GiB", "--set", "engine.closed_form=yes")
    assert rc == 2 and len(lines) == 4, lines
    text = "\n".join(lines)
    for needle in ("workload.arrivals.rate: 5 has no unit", "parallelism.tp:",
                   "engine.closed_form: Input should be a valid boolean: write true or false",
                   "--set kv.tiers.hdd.capacity: kv.tiers has no item 'hdd' (items: dram"):
        assert needle in text, needle


def test_a_single_mistake_reads_as_before(capsys, tmp_path):
    rc, lines = run(capsys, tmp_path, scenario(kv={"block_tokens": 0}))
    assert rc == 2 and lines == [
        f"memsim: error: {tmp_path / 'three.yaml'}: kv.block_tokens: Input should be greater "
        "than or equal to 1 (got 0)"]


def test_missing_fields_of_one_mapping_are_one_line(capsys, tmp_path):
    rc, lines = run(capsys, tmp_path, {"name": "x"})
    assert rc == 2 and len(lines) == 1
    assert lines[0].endswith("required fields are missing: platform, model, workload")


def test_the_error_object_keeps_each_problem():
    with pytest.raises(ConfigErrors) as e:
        memsim.load_scenario(scenario(seed=-1, kv={"memory_fraction": 2}))
    err = e.value
    assert isinstance(err, ConfigError) and len(err.errors) == 2
    assert [x.field for x in err.errors] == ["seed", "kv.memory_fraction"]
    assert str(err).splitlines() == [str(x) for x in err.errors]
    assert err.field == "seed"                          # code reading one error still works


def test_combine_flattens_and_caps():
    one = ConfigError("a", field="x")
    assert combine([one]) is one
    many = combine([ConfigError(str(i), field=f"f{i}") for i in range(25)])
    lines = str(many).splitlines()
    assert len(lines) == ConfigErrors.SHOWN + 1 and lines[-1] == "... and 5 more problems"
    nested = combine([many, one])
    assert len(nested.errors) == 26
    assert str(nested.located(file="s.yaml")).splitlines()[0] == "s.yaml: f0: 0"
