"""Values that parse but are wrong, and readers' odd files: one line, exit 2 (issue 17).

* flags: a repeated ``--capacity``/``--policy``/``--set``, counts past where they mean
  anything (``--points 100000000``, ``--n 99999999999999999999``, ``--workers -5``), shares
  past 100 % (``compress --budget 150%``), YAML 1.1 spellings (``yes``, ``on``, ``1_000``);
* ids: a negative id or one past 64 bits in an id trace, a Mooncake row with
  ``input_length: -5`` through ``replay`` and ``mrc`` as through ``run``;
* readers: duplicate column names (CSV and Parquet, request and access readers), a folder
  passed as a trace, JSON nested past the decoder's recursion limit.
"""
from __future__ import annotations

import json
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import tiny_scenario, warm_up

FAST_S = 2.0
HYP = settings(max_examples=20, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True, scope="module")
def _warm():
    warm_up()


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ids.txt").write_text("1\n2\n3\n1\n2\n")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(tiny_scenario()))
    return tmp_path


def _bad(cli_error, argv, *needles, family="values"):
    t0 = time.perf_counter()
    line = cli_error(argv, *needles, family=family)
    assert time.perf_counter() - t0 < FAST_S, line
    return line


REPLAY = ["replay", "IDS", "--format", "ids", "--policy", "lru"]
MRC = ["mrc", "IDS", "--format", "ids"]
FLAGS = [
    ("replay --capacity twice", [*REPLAY, "--capacity", "4", "--capacity", "4"], "--capacity", "twice"),
    ("replay --capacity 4 and 04", [*REPLAY, "--capacity", "4", "--capacity", "04"], "--capacity"),
    ("replay --policy twice", ["replay", "IDS", "--format", "ids", "--policy", "lru", "--policy", "lru",
                               "--capacity", "4"], "--policy"),
    ("replay --capacity 2**64", [*REPLAY, "--capacity", str(2**64)], "--capacity"),
    ("mrc --points 1e8", [*MRC, "--points", "100000000"], "--points"),
    ("mrc --workers -5", [*MRC, "--workers", "-5"], "--workers"),
    ("mrc --workers 10**20", [*MRC, "--workers", str(10**20)], "--workers"),
    ("mrc --capacities repeated", [*MRC, "--capacities", "2,3,2"], "--capacities"),
    ("mrc --policy twice", [*MRC, "--policy", "fifo", "--policy", "fifo"], "--policy"),
    ("compress --budget 150%", ["compress", "--policy", "h2o", "--budget", "150%"], "--budget", "100%"),
    ("compress --budget nan%", ["compress", "--policy", "h2o", "--budget", "nan%"], "--budget"),
    ("compress --points 1e8", ["compress", "--policy", "h2o", "--points", "100000000"], "--points"),
    ("compress --prompt-tokens 1e11", ["compress", "--policy", "h2o", "--prompt-tokens", "99999999999"],
     "--prompt-tokens"),
    ("attention-io --n 1e20", ["attention-io", "--n", "99999999999999999999", "--d", "128"], "--n"),
    ("attention-io --heads 1e20", ["attention-io", "--n", "64", "--d", "128", "--heads", "1e20"], "--heads"),
    ("attention-io --heads 10**20", ["attention-io", "--n", "64", "--d", "128", "--heads", str(10**20)],
     "--heads"),
    ("attention-io --d -1", ["attention-io", "--n", "64", "--d", "-1"], "--d"),
    ("sweep --workers 0", ["sweep", "SW", "--workers", "0"], "--workers"),
    ("compare --seed -1", ["compare", "S", "--seed", "-1"], "--seed"),
    ("--set three times", ["run", "S", "--set", "kv.block_tokens=16", "--set", "kv.block_tokens=32",
                           "--set", "kv.block_tokens=64"], "kv.block_tokens", "twice"),
    ("--set yes for an int", ["run", "S", "--set", "kv.block_tokens=yes"], "kv.block_tokens"),
    ("--set on for tp", ["run", "S", "--set", "parallelism.tp=on"], "parallelism.tp"),
    ("--set 1_000", ["run", "S", "--set", "workload.num_requests=1_000"], "workload.num_requests"),
    ("--set num_requests past 1e9", ["run", "S", "--set", "workload.num_requests=2000000000"],
     "workload.num_requests"),
]


@pytest.mark.parametrize("label,argv,needles", [(c[0], c[1], c[2:]) for c in FLAGS], ids=[c[0] for c in FLAGS])
def test_flags_that_parse_but_are_wrong(cli_error, files, label, argv, needles):
    sw = files / "sw.yaml"
    sw.write_text(yaml.safe_dump({"base": "s.yaml", "grid": {"seed": [1, 2]}}))
    subst = {"IDS": str(files / "ids.txt"), "S": str(files / "s.yaml"), "SW": str(sw)}
    _bad(cli_error, [subst.get(a, a) for a in argv], *needles)


@HYP
@given(n=st.integers(min_value=2**31), flag=st.sampled_from(["--n", "--d", "--heads", "--batch"]))
def test_any_count_past_its_bound_is_refused(cli_error, n, flag):
    argv = {"--n": "64", "--d": "64"}
    argv[flag] = str(n)
    _bad(cli_error, ["attention-io", *[x for kv in argv.items() for x in kv]], flag)


@HYP
@given(values=st.lists(st.integers(1, 50), min_size=2, max_size=6).filter(lambda v: len(set(v)) < len(v)))
def test_any_repeated_capacity_is_refused(cli_error, tmp_path_factory, values):
    d = tmp_path_factory.mktemp("cap")
    (d / "ids.txt").write_text("1\n2\n1\n")
    argv = ["replay", d / "ids.txt", "--format", "ids", "--policy", "lru"]
    for v in values:
        argv += ["--capacity", str(v)]
    _bad(cli_error, argv, "--capacity", "twice")


# ---- ids ----------------------------------------------------------------------------------

IDS = [
    ("negative id", "1\n-2\n3\n", "line 2", "negative"),
    ("id 2**64", f"1\n{2**64}\n", "line 2", "2**64-1"),
    ("id 2**70", f"1\n2\n{2**70}\n", "line 3", "2**64-1"),
    ("huge negative", f"{-(2**70)}\n", "line 1"),
    ("float id", "1\n2.5\n", "line 2", "not an integer"),
]


@pytest.mark.parametrize("label,text,needles", [(c[0], c[1], c[2:]) for c in IDS], ids=[c[0] for c in IDS])
@pytest.mark.parametrize("command", ["replay", "mrc"])
def test_bad_ids_in_an_id_trace(cli_error, tmp_path, label, text, needles, command):
    f = tmp_path / "ids.txt"
    f.write_text(text)
    extra = ["--policy", "lru", "--capacity", "4"] if command == "replay" else []
    _bad(cli_error, [command, f, "--format", "ids", *extra], "ids.txt", *needles)


def test_uint64_ids_are_kept(capsys, tmp_path):
    from robust_helpers import run_cli
    f = tmp_path / "ids.txt"
    f.write_text(f"{2**64 - 1}\n1\n{2**64 - 1}\n")
    rc, out, err = run_cli(capsys, ["replay", f, "--format", "ids", "--policy", "lru", "--capacity", "4",
                                    "--json"])
    assert rc == 0, err
    assert json.loads(out.splitlines()[0])["hits"] == 1


MOONCAKE_ROWS = [
    ("input_length -5", {"input_length": -5}, "input_length"),
    ("output_length 0", {"output_length": 0}, "output_length"),
    ("input_length text", {"input_length": "5"}, "input_length"),
    ("input_length 2**40", {"input_length": 2**40}, "input_length"),
    ("negative hash id", {"hash_ids": [1, -2]}, "hash_ids"),
    ("hash id 2**64", {"hash_ids": [2**64]}, "hash_ids"),
    ("timestamp -1", {"timestamp": -1}, "timestamp"),
    ("timestamp nan", {"timestamp": float("nan")}, "timestamp"),
]


@pytest.mark.parametrize("label,over,needle", MOONCAKE_ROWS, ids=[c[0] for c in MOONCAKE_ROWS])
@pytest.mark.parametrize("command", ["replay", "mrc", "run"])
def test_mooncake_rows_are_held_to_the_same_rules_everywhere(cli_error, tmp_path, label, over, needle, command):
    good = {"timestamp": 0, "input_length": 5, "output_length": 4, "hash_ids": [1]}
    f = tmp_path / "t.jsonl"
    f.write_text(json.dumps(good) + "\n" + json.dumps({**good, **over}) + "\n")
    if command == "run":
        scen = tiny_scenario()
        scen["workload"] = {"kind": "mooncake", "path": str(f), "hash_block_tokens": 16}
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(scen))
        argv = ["run", tmp_path / "s.yaml"]
    else:
        argv = [command, f, "--format", "mooncake", *(["--policy", "lru", "--capacity", "4"]
                                                     if command == "replay" else [])]
    _bad(cli_error, argv, "t.jsonl", "line 2", needle)


# ---- readers ------------------------------------------------------------------------------

def _run_trace(tmp_path, workload) -> list:
    scen = tiny_scenario()
    scen["workload"] = workload
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scen))
    return ["run", tmp_path / "s.yaml"]


def test_parquet_request_trace_with_duplicate_columns(cli_error, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pa.table([pa.array([0.0, 1.0]), pa.array([100, 100]), pa.array([4, 4]), pa.array([5.0, 6.0])],
                 names=["timestamp", "input_tokens", "output_tokens", "timestamp"])
    pq.write_table(t, tmp_path / "t.parquet")
    _bad(cli_error, _run_trace(tmp_path, {"kind": "parquet", "path": str(tmp_path / "t.parquet")}),
         "t.parquet", "'timestamp' appears 2 times", family="readers")


def test_csv_request_trace_with_duplicate_columns(cli_error, tmp_path):
    (tmp_path / "t.csv").write_text("timestamp,input_tokens,input_tokens,output_tokens\n0,1,2,3\n")
    _bad(cli_error, _run_trace(tmp_path, {"kind": "csv", "path": str(tmp_path / "t.csv")}),
         "t.csv", "line 1", "'input_tokens' appears 2 times", family="readers")


def test_csv_access_trace_with_duplicate_columns(cli_error, tmp_path):
    (tmp_path / "a.csv").write_text("id,id\n1,2\n")
    _bad(cli_error, ["replay", tmp_path / "a.csv", "--format", "csv", "--policy", "lru", "--capacity", "2"],
         "a.csv", "'id' appears 2 times", family="readers")


@pytest.mark.parametrize("argv", [
    ["replay", "DIR", "--format", "ids", "--policy", "lru", "--capacity", "4"],
    ["replay", "DIR", "--format", "oracle", "--policy", "lru", "--capacity", "4"],
    ["mrc", "DIR", "--format", "csv"],
    ["mrc", "DIR", "--format", "mooncake"],
], ids=["replay ids", "replay oracle", "mrc csv", "mrc mooncake"])
def test_a_folder_passed_as_an_access_trace(cli_error, tmp_path, argv):
    d = tmp_path / "empty"
    d.mkdir()
    _bad(cli_error, [str(d) if a == "DIR" else a for a in argv], "empty", "directory", family="readers")


@pytest.mark.parametrize("kind", ["mooncake", "parquet", "csv"])
def test_a_folder_passed_as_a_request_trace(cli_error, tmp_path, kind):
    d = tmp_path / "empty"
    d.mkdir()
    _bad(cli_error, _run_trace(tmp_path, {"kind": kind, "path": str(d)}), "empty", "directory", family="readers")


def test_json_nested_past_the_decoder_limit(cli_error, tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"timestamp": 0, "input_length": 5, "output_length": 4, "hash_ids": '
                 + "[" * 100_000 + "]" * 100_000 + "}\n")
    _bad(cli_error, ["replay", f, "--format", "mooncake", "--policy", "lru", "--capacity", "4"],
         "t.jsonl", "line 1", family="readers")
    _bad(cli_error, _run_trace(tmp_path, {"kind": "mooncake", "path": str(f)}), "t.jsonl", "line 1",
         family="readers")


def test_a_deep_hf_config_is_one_line(cli_error, tmp_path):
    f = tmp_path / "config.json"
    f.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _bad(cli_error, ["models", "show", f], "config.json",
         family="readers")


@pytest.mark.parametrize("fmt,text", [("ids", "1\n2\n"), ("mooncake", '{"hash_ids": [1]}\n'),
                                      ("csv", "id\n1\n")])
def test_an_unreadable_access_trace_is_one_line(cli_error, tmp_path, monkeypatch, fmt, text):
    # the suite may run as root, where chmod 0 still reads: make open() refuse instead
    import memsim.workloads.accesses as acc
    f = tmp_path / "t.txt"
    f.write_text(text)

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(acc, "open", refuse, raising=False)
    monkeypatch.setattr("pandas.read_csv", refuse)
    _bad(cli_error, ["replay", f, "--format", fmt, "--policy", "lru", "--capacity", "2"], "t.txt",
         "Permission denied", family="readers")
