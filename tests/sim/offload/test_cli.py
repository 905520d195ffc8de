"""``memsim flash`` and ``memsim offload``: output, JSON, scenario files and bad input."""
import json
from pathlib import Path

import pytest

from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.sim.offload.scenario import FlashScenario, OffloadScenario, load_scenario

REPO = Path(__file__).resolve().parents[3]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_flash_json_has_speedup_against_naive(capsys):
    rc, out, _ = run(capsys, "flash", "--hw", "laptop_flash", "--model", "opt-6.7b", "--policy",
                     "windowing_bundling", "--window", "5", "--tokens", "8", "--json")
    assert rc == 0
    d = json.loads(out)
    pols = [r["policy"] for r in d["runs"]]
    assert pols == ["naive", "windowing_bundling"]
    wb = d["runs"][1]
    assert wb["speedup_vs_naive"] > 4 and wb["fits"]
    assert d["scenario"]["policies"][1] == {"name": "windowing_bundling", "window": 5}


def test_flash_table(capsys):
    rc, out, _ = run(capsys, "flash", "--compare", "--tokens", "6", "--activation-rate", "0.05")
    assert rc == 0
    for name in ("Naive(sparse=False)", "Bundling()", "Windowing(window=5)",
                 "WindowingBundling(window=5)"):
        assert name in out
    assert "vs naive" in out and "2.00x the DRAM budget" in out


def test_flash_trace_file(capsys, tmp_path):
    import numpy as np

    from memsim.workloads.model import load_model
    m = load_model("opt-6.7b")
    arr = np.random.default_rng(0).random((4, m.layers, m.ffn)) < 0.05
    np.save(tmp_path / "t.npy", arr)
    rc, out, _ = run(capsys, "flash", "--trace", str(tmp_path / "t.npy"), "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["runs"][0]["tokens"] == 4
    assert d["runs"][1]["active_fraction"] == pytest.approx(arr.mean(), rel=1e-9)


@pytest.mark.parametrize("argv, match", [
    (["flash", "--window", "0"], "window"),
    (["flash", "--policy", "naive", "--window", "3"], "--window applies only"),
    (["flash", "--dram", "7 GX"], "unknown unit"),
    (["flash", "--dram", "7 GB", "--dram-fraction", "0.5"], "not both"),
    (["flash", "--activation-rate", "1.5"], "activation_rate"),
    (["flash", "--correlation", "0.01", "--activation-rate", "0.9"], "correlation"),
    (["flash", "--policy", "lru"], "unknown flash policy 'lru'"),
    (["flash", "--hw", "nosuch"], "unknown platform"),
    (["flash", "--model", "mixtral-8x7b"], "mixture-of-experts"),
    (["flash", "--trace", "/nonexistent.npy"], "not found"),
    (["flash", "--hw", "laptop_flash", "--dram", "1 TiB"], "exceeds"),
    (["offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "8"], "missing --prompt-len"),
    (["offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "8", "--prompt-len", "64",
      "--gen-len", "4", "--kv", "1,0"], "three fractions"),
    (["offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "8", "--prompt-len", "64",
      "--gen-len", "4", "--kv", "0.5,0.6,0"], "sum to 1"),
    (["offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "8", "--prompt-len", "64",
      "--gen-len", "4", "--search", "--weights", "0,1,0"], "--search chooses"),
    (["offload", "--hw", "laptop_flash", "--model", "opt-30b", "--batch", "8", "--prompt-len",
      "64", "--gen-len", "4"], "no hbm"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, match):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("memsim: error: ") and match in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["flash", "--tokens", "many"])
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_offload_search_json(capsys):
    rc, out, _ = run(capsys, "offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "16",
                     "--prompt-len", "128", "--gen-len", "8", "--search", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["fits"] and d["search"] and d["throughput_tokens_per_s"] > 0
    assert sum(d["placement"]["weights"]) == pytest.approx(1)


def test_offload_given_placement_reports_not_fitting(capsys):
    rc, out, _ = run(capsys, "offload", "--hw", "rtx4090", "--model", "opt-30b", "--batch", "16",
                     "--prompt-len", "128", "--gen-len", "8")
    assert rc == 0 and "fits: NO" in out


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("flash-*.yaml")) +
                         sorted((REPO / "scenarios").glob("offload-*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    sc = load_scenario(path)
    assert isinstance(sc, FlashScenario if path.name.startswith("flash") else OffloadScenario)


def test_shipped_offload_scenario_runs(capsys):
    rc, out, _ = run(capsys, "offload", str(REPO / "scenarios" / "offload-opt-30b.yaml"))
    assert rc == 0 and "best placement" in out and "fits: yes" in out


def test_scenario_errors_name_file_and_field(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text("kind: flash\nplatform: laptop_flash\nmodel: opt-6.7b\ntokenz: 3\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: tokenz: unknown key \(did you mean 'tokens'"):
        load_scenario(f)
    f.write_text("kind: offload\nplatform: rtx4090\nmodel: opt-30b\nbatch: 4\nprompt_len: 8\n"
                 "gen_len: 2\nsearch: true\nplacement: {weights: [1, 0, 0]}\n")
    with pytest.raises(ConfigError, match="not both"):
        load_scenario(f)
    rc, _, err = run(capsys, "flash", str(f))
    assert rc == 2 and "s.yaml" in err
    rc, _, err = run(capsys, "flash", str(REPO / "scenarios" / "flash-opt-6.7b.yaml"), "--tokens", "3")
    assert rc == 2 and "not both" in err


def test_shared_trace_gives_the_same_run_as_a_fresh_one():
    from memsim.sim.offload.scenario import run_flash
    base = dict(kind="flash", platform="laptop_flash", model="opt-6.7b", tokens=5, seed=2)
    both = run_flash(FlashScenario(**base, policies=["naive", "windowing"]))
    alone = run_flash(FlashScenario(**base, policies=["windowing"]))
    assert both[1].summary == alone[0].summary
    assert both[1].tokens.equals(alone[0].tokens)
