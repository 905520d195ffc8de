"""``memsim train``: the shipped scenarios, JSON, --search, --fit, --report, and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from memsim.cli import main
from memsim.hwmodels import load_platform

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = sorted((REPO / "scenarios").glob("train-*.yaml"))
SMALL = ["--hw", "h100_sxm", "--model", "llama-3.1-8b", "--global-batch", "8", "--seq-len", "2048"]


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_three_training_scenarios_ship():
    names = {p.stem for p in SCENARIOS}
    assert {"train-llama8b-8xh100", "train-llama70b-zero3-offload", "train-long-context-cxl"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenario_runs_and_fits(capsys, path):
    rc, out, err = run(capsys, "train", path, "--json")
    assert rc == 0 and not err
    d = json.loads(out)
    s = d["summary"]
    assert s["fits"] and s["step_s"] > 0 and 0 < s["mfu"] < 1
    assert {t["tier"] for t in d["tiers"]} >= {"hbm"}
    assert all(sum(b.values()) == pytest.approx(s["step_s"], rel=1e-9) for b in d["breakdown"])


def test_text_output_and_flags_override_the_file(capsys):
    rc, out, _ = run(capsys, "train", REPO / "scenarios" / "train-llama8b-8xh100.yaml", "--seq-len", "2048",
                     "--checkpointing", "full", "--zero", "2")
    assert rc == 0
    assert "ZeRO-2, checkpointing full" in out and "x 2048 tokens" in out
    assert "memory (hbm" in out and "step " in out and "stage 0:" in out


def test_offload_flags_and_report(capsys, tmp_path):
    report = tmp_path / "train.html"
    rc, out, _ = run(capsys, "train", *SMALL, "--zero", "3", "--params", "dram", "--grads", "hbm=0.5,dram=0.5",
                     "--optimizer", "hbm=0.5,dram=0.5", "--activations", "dram", "--checkpointing", "every=4",
                     "--report", report)
    assert rc == 0 and report.is_file() and "report written" in out
    assert "optimizer hbm 0.5, dram 0.5" in out and "dram" in out


def test_search_and_fit(capsys):
    rc, out, _ = run(capsys, "train", *SMALL, "--search", "--json")
    d = json.loads(out)
    assert rc == 0 and d["summary"]["fits"] and d["summary"]["search"]["simulated"] >= 1
    assert any(c["fits"] for c in d["candidates"])
    rc, out, _ = run(capsys, "train", *SMALL, "--search")
    assert rc == 0 and "best of" in out
    rc, out, _ = run(capsys, "train", *SMALL, "--fit")
    assert rc == 0 and "ZeRO-Infinity (NVMe)" in out and "largest model" in out


def test_cxl_platform_is_shipped_with_sources():
    p = load_platform("h100_cxl")
    cxl = p.tier("cxl")
    assert cxl.kind == "cxl" and cxl.count == 8 and cxl.capacity == 256 * 10**9
    assert cxl.read_bw == pytest.approx(36e9) and "CZ120" in cxl.source
    assert [link.name for link in p.path("hbm", "cxl")] == ["pcie", "cxl_link"]
    assert p.link("cxl_link").bandwidth == pytest.approx(31.5e9)
    text = (REPO / "hwmodels" / "h100_cxl.yaml").read_text().splitlines()
    assert all("#" in line for line in text if line.strip().startswith(("capacity:", "read_bw:", "write_bw:",
                                                                        "latency:", "bandwidth:")))


BAD = [
    (["--optimizer", "hbm=0.7,dram=0.5"], "placement.optimizer: fractions sum to 1.2"),
    (["--pp", "3"], "parallelism.pp: pp=3 pipeline stages do not divide the model's 32 layers"),
    (["--global-batch", "4", "--micro-batch", "8"], "micro_batch: micro_batch=8 is larger than global_batch=4"),
    (["--global-batch", "12"], "global_batch: global_batch=12 is not a multiple of micro_batch x dp"),
    (["--optimizer", "cxl"], "placement.optimizer.cxl: platform h100_sxm has no tier 'cxl'"),
    (["--activations", "ssd"], "placement.activations.ssd: tier 'ssd' is ssd"),
    (["--params", "dram", "--zero", "2"], "placement.params: parameters off the accelerator need zero_stage 3"),
    (["--dp", "8", "--tp", "2"], "parallelism.dp: dp x tp x pp = 16 exceeds the platform's 8 accelerators"),
    (["--tp", "3", "--dp", "1"], "parallelism.tp: tp=3 does not divide the model's heads=32"),
    (["--pp", "2", "--zero", "3"], "parallelism.zero_stage: zero_stage 3 with pp=2"),
    (["--checkpointing", "every=64"], "checkpointing.every: every=64 exceeds the 32 layers"),
    (["--checkpointing", "ful"], "checkpointing.scheme"),
    (["--checkpointing", "every=x"], "--checkpointing: 'every=x' should be every=K"),
    (["--optimizer", "hbm=x"], "--optimizer: 'hbm=x' should be TIER or TIER=F"),
    (["--optimizer", "hbm=1.5"], "placement.optimizer.hbm: fraction 1.5 must be a number in [0, 1]"),
    (["--fit", "--search"], "fit: give --fit or --search, not both"),
    (["--grads", "dram"], "placement.grads: gradients off the accelerator feed the CPU optimizer"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_input_is_one_line_naming_the_field(capsys, extra, message):
    rc, out, err = run(capsys, "train", *SMALL, *extra)
    assert rc == 2 and not out
    assert err.count("\n") == 1 and err.startswith("memsim: error: ") and message in err, err


def test_bad_files(capsys, tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("kind: train\nplatform: h100_sxm\nmodel: llama-3.1-8b\nglobal_batch: 8\nseq_len: 1024\n"
                 "placment: {}\n")
    rc, _, err = run(capsys, "train", f)
    assert rc == 2 and "t.yaml: placment: unknown key (did you mean 'placement'?)" in err
    rc, _, err = run(capsys, "train", REPO / "scenarios" / "offload-opt-30b.yaml")
    assert rc == 2 and "kind: kind 'offload' is not train" in err
    rc, _, err = run(capsys, "train", "--hw", "h100_sxm")
    assert rc == 2 and "missing --model, --global-batch, --seq-len" in err
    f.write_text("kind: train\nplatform: h100_sxm\nmodel: llama-3.1-8b\nglobal_batch: 8\nseq_len: 1024\n"
                 "placement: {grads: {hbm: 0.6, dram: 0.6}}\n")
    rc, _, err = run(capsys, "train", f)
    assert rc == 2 and err.count("\n") == 1 and "placement.grads: fractions sum to 1.2 (120.0000%)" in err
