"""Bad flags for every ``memsim`` subcommand: unknown flags, bad values, missing files.

Each case must end as one stderr line naming the flag (or file) at fault, exit
status 2, no traceback.  Sweep files get their own small table (bad grid paths,
bad values at a point, unknown keys).
"""
from __future__ import annotations

import pytest
import yaml
from robust_helpers import tiny_scenario


@pytest.fixture
def files(tmp_path):
    scen = tmp_path / "good.yaml"
    scen.write_text(yaml.safe_dump(tiny_scenario()))
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n2\n1\n3\n")
    return {"SCEN": str(scen), "IDS": str(ids), "DIR": str(tmp_path), "EMPTYDIR": str(tmp_path / "empty")}


# argv (placeholders SCEN, IDS, DIR filled in), needle the one line must name
CASES = [
    (["run", "SCEN", "--bogus"], "--bogus"),
    (["run", "SCEN", "--seed", "abc"], "--seed"),
    (["run", "SCEN", "--seed", "-1"], "seed"),
    (["run", "SCEN", "--seed", "1.5"], "--seed"),
    (["run", "SCEN", "--set", "noequals"], "--set"),
    (["run", "SCEN", "--set", "=3"], "--set"),
    (["run", "SCEN", "--set", "kv..block_tokens=3"], "--set"),
    (["run", "SCEN", "--set", "kv.block_tokens=abc"], "kv.block_tokens"),
    (["run", "SCEN", "--set", "kv.block_tokens=-1"], "kv.block_tokens"),
    (["run", "SCEN", "--set", "kv.nosuch=1"], "kv.nosuch"),
    (["run", "SCEN", "--set", "seed.x=1"], "seed.x"),
    (["run", "SCEN", "--set", "kv.memory_fraction=.nan"], "kv.memory_fraction"),
    (["run", "SCEN", "--set", "workload.arrivals.rate=5"], "workload.arrivals.rate"),
    (["run", "SCEN", "--out"], "--out"),
    (["run", "SCEN", "SCEN"], "unrecognized"),
    (["run", "DIR/absent.yaml"], "absent.yaml"),
    (["nosuchcommand"], "nosuchcommand"),
    (["--bogus"], "--bogus"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru"], "--capacity"),
    (["replay", "IDS", "--format", "ids", "--capacity", "4"], "--policy"),
    (["replay", "IDS", "--policy", "lru", "--capacity", "4"], "--format"),
    (["replay", "IDS", "--format", "nosuch", "--policy", "lru", "--capacity", "4"], "--format"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "-4"], "--capacity"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "0"], "--capacity"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "abc"], "--capacity"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4 GiB"], "--capacity"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4",
      "--capacity-unit", "bytes"], "--capacity-unit"),
    (["replay", "IDS", "--format", "ids", "--policy", "nosuch", "--capacity", "4"], "nosuch"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4",
      "--admission", "nosuch"], "nosuch"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4",
      "--engine", "gpu"], "--engine"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4",
      "--id-column", "x"], "format"),
    (["replay", "DIR/absent.txt", "--format", "ids", "--policy", "lru", "--capacity", "4"], "absent.txt"),
    (["replay", "IDS", "--format", "ids", "--policy", "lru", "--capacity", "4", "--bogus"], "--bogus"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--points", "0"], "--points"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--points", "-3"], "--points"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--points", "x"], "--points"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--workers", "0"], "workers"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--workers", "-5"], "workers"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--capacities", "-1"], "--capacit"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--capacities", "1,x"], "--capacit"),
    (["mrc", "IDS", "--format", "ids", "--policy", "nosuch"], "nosuch"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--out", "DIR/curve.xlsx"], "curve.xlsx"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--out", "DIR/nodir/sub/curve.csv"], "curve.csv"),
    (["mrc", "IDS", "--format", "ids", "--policy", "lru", "--bogus"], "--bogus"),
    (["attention-io", "--n", "0", "--d", "64", "--sram", "192 KiB"], "--n"),
    (["attention-io", "--n", "-5", "--d", "64", "--sram", "192 KiB"], "--n"),
    (["attention-io", "--n", "1024", "--d", "abc", "--sram", "192 KiB"], "--d"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB/s"], "--sram"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "1 B"], "--sram"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "-192 KiB"], "--sram"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "nan KiB"], "--sram"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram-elems", "0"], "--sram-elems"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--sram-elems", "8"], "--sram"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--dtype", "fp7"], "--dtype"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--algo", "nosuch"], "--algo"),
    (["attention-io", "--n", "1024", "--d", "64", "--hw", "nosuch_gpu"], "nosuch_gpu"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--heads", "0"], "--heads"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--block-rows", "0"], "--block-rows"),
    (["attention-io", "--n", "1024", "--d", "64", "--sram", "192 KiB", "--out", "x.csv"], "--out"),
    (["attention-io", "--d", "64", "--sram", "192 KiB"], "--n"),
    (["attention-io", "--n", "1024", "--d", "64"], "--sram"),
    (["attention-io", "--bogus"], "--bogus"),
    (["hw"], "hw"),
    (["hw", "show"], "NAME"),
    (["hw", "show", "nosuch_gpu"], "nosuch_gpu"),
    (["hw", "list", "--bogus"], "--bogus"),
    (["hw", "frobnicate"], "frobnicate"),
    (["report", "DIR/absent"], "absent"),
    (["report", "EMPTYDIR"], "empty"),
    (["report"], "RESULT_DIR"),
    (["report", "DIR", "--bogus"], "--bogus"),
    (["sweep", "DIR/absent.yaml"], "absent.yaml"),
    (["sweep", "SCEN"], "good.yaml"),
    (["sweep", "SCEN", "--workers", "x"], "--workers"),
    (["sweep", "SCEN", "--executor", "slurm"], "--executor"),
    (["compare", "DIR/absent.yaml"], "absent.yaml"),
    (["compare", "SCEN", "--workers", "0"], "workers"),
    (["compare", "SCEN", "--executor", "slurm"], "--executor"),
    (["compare", "SCEN", "--set", "noequals"], "--set"),
    (["compare", "SCEN", "--seed", "x"], "--seed"),
    (["compare"], "SCENARIO"),
]


def _fill(argv, files):
    out = []
    for a in argv:
        for k in sorted(files, key=len, reverse=True):
            if a == k or a.startswith(k + "/"):
                a = files[k] + a[len(k):]
                break
        out.append(a)
    return out


@pytest.mark.parametrize("argv,needle", [
    pytest.param(*c[:2], id=" ".join(c[0])[:60],
                 marks=[pytest.mark.xfail(strict=True, reason=c[2])] if len(c) > 2 else [])
    for c in CASES])
def test_bad_flag(files, cli_error, argv, needle, tmp_path):
    (tmp_path / "empty").mkdir(exist_ok=True)
    cli_error(_fill(argv, files), needle, family="cli")


SWEEPS = [
    ({"grid": {"kv.block_tokens": [16, 0]}}, "kv.block_tokens"),
    ({"grid": {"kv.nosuch": [1]}}, "kv.nosuch"),
    ({"grid": {"kv.block_tokens": []}}, "kv.block_tokens"),
    ({"grid": {"kv.block_tokens": 16}}, "grid.kv.block_tokens"),
    ({"zip": {"seed": [1, 2], "kv.block_tokens": [16]}}, "zip"),
    ({"grid": {"seed": [1]}, "zip": {"seed": [2]}}, "seed"),
    ({"seeds": [1, 1]}, "seeds"),
    ({"seeds": [-1]}, "seeds"),
    ({"bogus": 1}, "bogus"),
    ({"base": "absent.yaml"}, "absent.yaml"),
    ({"grid": {"": [1]}}, "grid"),
    ({"grid": {"kv.tiers.nosuch.capacity": ["1 GiB"]}}, "kv.tiers"),
    ({"show": ["no_such_metric"], "grid": {"kv.block_tokens": [16]}}, "show"),
]


@pytest.mark.parametrize("extra,needle", SWEEPS, ids=[str(s[0])[:50] for s in SWEEPS])
def test_bad_sweep_file(tmp_path, cli_error, extra, needle):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    sw = {"base": "base.yaml", "out": str(tmp_path / "out"), **extra}
    f = tmp_path / "bad_sweep.yaml"
    f.write_text(yaml.safe_dump(sw))
    cli_error(["sweep", f, "--workers", "1"], needle, family="cli")
