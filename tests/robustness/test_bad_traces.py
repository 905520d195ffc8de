"""Bad traces of every format through ``memsim run``/``replay``/``mrc``: one line naming file and line.

Each case writes a small trace (Mooncake JSONL, Azure CSV, generic CSV, Parquet,
access-id and access-CSV files) with one defect: empty file, header only,
unsorted timestamps, truncated line, non-UTF-8 bytes, NaN/inf, negative or zero
lengths, wrong types, missing columns.  The error must name the trace file and,
for a defective row, its line (``line N``; Parquet: ``row N``).
"""
from __future__ import annotations

import pandas as pd
import pytest
import yaml
from robust_helpers import tiny_scenario

MC_OK = ['{"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [0, 1]}',
         '{"timestamp": 1500, "input_length": 512, "output_length": 2, "hash_ids": [0]}',
         '{"timestamp": 2500, "input_length": 700, "output_length": 5, "hash_ids": [0, 1]}']
AZ_HEAD = "TIMESTAMP,ContextTokens,GeneratedTokens"
AZ_OK = ["2023-11-16 18:15:46.6805900,374,44", "2023-11-16 18:15:50.9951690,396,109",
         "2023-11-16 18:15:51.0000000,100,3"]
CSV_HEAD = "timestamp,input_tokens,output_tokens"
CSV_OK = ["0.5,600,3", "0.75,20,1", "1.0,30,2"]


def _lines(ok, i, bad):
    rows = list(ok)
    rows[i] = bad
    return rows


# (kind, file text or bytes, needles beyond the file name)
MOONCAKE = [
    ("empty", "", ["empty"]),
    ("blank lines only", "\n\n", []),
    ("unsorted", "\n".join(_lines(MC_OK, 2, MC_OK[2].replace("2500", "100"))), ["line 3"]),
    ("truncated", "\n".join(MC_OK[:2] + [MC_OK[2][:30]]), ["line 3"]),
    ("not json", "\n".join(_lines(MC_OK, 1, "hello")), ["line 2"]),
    ("json list", "\n".join(_lines(MC_OK, 1, "[1, 2]")), ["line 2"]),
    ("missing field", "\n".join(_lines(MC_OK, 1, '{"timestamp": 1500, "output_length": 2}')), ["line 2"]),
    ("negative input", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("512", "-5"))), ["line 2"]),
    ("zero output", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace('"output_length": 2', '"output_length": 0'))),
     ["line 2"]),
    ("string length", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("512", '"512"'))), ["line 2"]),
    ("float length", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("512", "512.5"))), ["line 2"]),
    ("NaN timestamp", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("1500", "NaN"))), ["line 2"]),
    ("inf timestamp", "\n".join(_lines(MC_OK, 2, MC_OK[2].replace("2500", "Infinity"))), ["line 3"]),
    ("huge length", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("512", "1" + "0" * 30))), ["line 2"]),
    ("hash ids not a list", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("[0]", '"0"'))), ["line 2"]),
    ("hash ids strings", "\n".join(_lines(MC_OK, 1, MC_OK[1].replace("[0]", '["a"]'))), ["line 2"]),
    ("non-UTF-8", ("\n".join(MC_OK[:1]) + "\n").encode() + b'{"timestamp": 9\xff\xfe}\n', ["line 2"]),
]
AZURE = [
    ("empty", "", []),
    ("header only", AZ_HEAD + "\n", []),
    ("wrong header", "time,ctx,gen\n" + "\n".join(AZ_OK), ["TIMESTAMP"]),
    ("unsorted", "\n".join([AZ_HEAD, AZ_OK[1], AZ_OK[0]]), ["line 3"]),
    ("truncated", "\n".join([AZ_HEAD] + AZ_OK[:2] + ["2023-11-16 18:15:5"]), ["line 4"]),
    ("bad date", "\n".join([AZ_HEAD, AZ_OK[0], "yesterday,10,10"]), ["line 3"]),
    ("negative", "\n".join([AZ_HEAD, AZ_OK[0], "2023-11-16 18:15:50.9951690,-3,10"]), ["line 3"]),
    ("zero output", "\n".join([AZ_HEAD, AZ_OK[0], "2023-11-16 18:15:50.9951690,3,0"]), ["line 3"]),
    ("NaN", "\n".join([AZ_HEAD, AZ_OK[0], "2023-11-16 18:15:50.9951690,nan,10"]), ["line 3"]),
    ("inf", "\n".join([AZ_HEAD, AZ_OK[0], "2023-11-16 18:15:50.9951690,10,inf"]), ["line 3"]),
    ("extra column", "\n".join([AZ_HEAD, AZ_OK[0], AZ_OK[1] + ",7"]), ["line 3"]),
    ("non-UTF-8", (AZ_HEAD + "\n" + AZ_OK[0] + "\n").encode() + b"2023-11-16 18:15:5\xff,1,1\n", ["line 3"]),
]
CSV = [
    ("empty", "", []),
    ("header only", CSV_HEAD + "\n", []),
    ("missing column", "timestamp,input_tokens\n0.5,600\n", ["output_tokens"]),
    ("unsorted", "\n".join([CSV_HEAD, CSV_OK[1], CSV_OK[0]]), ["line 3"]),
    ("truncated", "\n".join([CSV_HEAD, CSV_OK[0], "0.9,12"]), ["line 3"]),
    ("text length", "\n".join([CSV_HEAD, CSV_OK[0], "0.9,many,3"]), ["line 3"]),
    ("negative", "\n".join([CSV_HEAD, CSV_OK[0], "0.9,-12,3"]), ["line 3"]),
    ("zero", "\n".join([CSV_HEAD, CSV_OK[0], "0.9,0,3"]), ["line 3"]),
    ("fraction", "\n".join([CSV_HEAD, CSV_OK[0], "0.9,1.5,3"]), ["line 3"]),
    ("NaN time", "\n".join([CSV_HEAD, CSV_OK[0], "nan,12,3"]), ["line 3"]),
    ("inf time", "\n".join([CSV_HEAD, CSV_OK[0], "inf,12,3"]), ["line 3"]),
    ("non-UTF-8", (CSV_HEAD + "\n" + CSV_OK[0] + "\n").encode() + b"0.9,1\xff,3\n", ["line 3"]),
]


def _run_trace(tmp_path, cli_error, kind, content, needles, spec_extra=None):
    f = tmp_path / f"bad_trace.{ {'mooncake': 'jsonl'}.get(kind, kind) }"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content + ("\n" if content and not content.endswith("\n") else ""))
    scen = tiny_scenario()
    scen["workload"] = {"kind": kind, "path": str(f), **(spec_extra or {})}
    s = tmp_path / "trace_scenario.yaml"
    s.write_text(yaml.safe_dump(scen))
    return cli_error(["run", s, "--json"], "bad_trace.", *needles, family="trace")


@pytest.mark.parametrize("name,content,needles", MOONCAKE, ids=[c[0] for c in MOONCAKE])
def test_bad_mooncake(tmp_path, cli_error, name, content, needles):
    _run_trace(tmp_path, cli_error, "mooncake", content, needles)


@pytest.mark.parametrize("name,content,needles", AZURE, ids=[c[0] for c in AZURE])
def test_bad_azure(tmp_path, cli_error, name, content, needles):
    _run_trace(tmp_path, cli_error, "azure", content, needles)


@pytest.mark.parametrize("name,content,needles", CSV, ids=[c[0] for c in CSV])
def test_bad_csv(tmp_path, cli_error, name, content, needles):
    _run_trace(tmp_path, cli_error, "csv", content, needles)


PARQUET = [
    ("no rows", pd.DataFrame({"timestamp": pd.Series([], dtype=float),
                              "input_tokens": pd.Series([], dtype="int64"),
                              "output_tokens": pd.Series([], dtype="int64")}), []),
    ("missing column", pd.DataFrame({"timestamp": [0.0], "input_tokens": [5]}), ["output_tokens"]),
    ("unsorted", pd.DataFrame({"timestamp": [1.0, 0.5], "input_tokens": [5, 6],
                               "output_tokens": [1, 2]}), ["row 2"]),
    ("negative", pd.DataFrame({"timestamp": [0.0, 1.0], "input_tokens": [5, -6],
                               "output_tokens": [1, 2]}), ["row 2"]),
    ("NaN time", pd.DataFrame({"timestamp": [0.0, float("nan")], "input_tokens": [5, 6],
                               "output_tokens": [1, 2]}), ["row 2"]),
    ("inf length", pd.DataFrame({"timestamp": [0.0, 1.0], "input_tokens": [5.0, float("inf")],
                                 "output_tokens": [1, 2]}), ["input_tokens"]),
    ("string lengths", pd.DataFrame({"timestamp": [0.0, 1.0], "input_tokens": ["5", "x"],
                                     "output_tokens": [1, 2]}), ["input_tokens"]),
]


@pytest.mark.parametrize("name,df,needles", PARQUET, ids=[c[0] for c in PARQUET])
def test_bad_parquet(tmp_path, cli_error, name, df, needles):
    f = tmp_path / "bad_trace.parquet"
    df.to_parquet(f)
    scen = tiny_scenario()
    scen["workload"] = {"kind": "parquet", "path": str(f)}
    s = tmp_path / "trace_scenario.yaml"
    s.write_text(yaml.safe_dump(scen))
    cli_error(["run", s, "--json"], "bad_trace.parquet", *needles, family="trace")


@pytest.mark.parametrize("content", [b"PAR1 not really", b"", b"\x00\x01\x02"])
def test_garbage_parquet(tmp_path, cli_error, content):
    f = tmp_path / "bad_trace.parquet"
    f.write_bytes(content)
    scen = tiny_scenario()
    scen["workload"] = {"kind": "parquet", "path": str(f)}
    s = tmp_path / "trace_scenario.yaml"
    s.write_text(yaml.safe_dump(scen))
    cli_error(["run", s, "--json"], "bad_trace.parquet", family="trace")


def test_missing_trace_names_the_scenario_field(tmp_path, cli_error):
    scen = tiny_scenario()
    scen["workload"] = {"kind": "mooncake", "path": "nowhere.jsonl"}
    s = tmp_path / "trace_scenario.yaml"
    s.write_text(yaml.safe_dump(scen))
    cli_error(["run", s], "nowhere.jsonl", family="trace")


# access traces for replay / mrc: (format, content, needles[, xfail reason: a bug outside tests/])
ACCESS = [
    ("ids", "", ["empty"]),
    ("ids", "1\n2\nx\n", ["line 3"]),
    ("ids", "1\n\n3\n", ["line 2"]),
    ("ids", b"1\n2\n\xff\n", ["line 3"]),
    ("ids", "1\n2.5\n", ["line 2"]),
    ("mooncake", "", ["empty"]),
    ("mooncake", MC_OK[0] + "\n{broken\n", ["line 2"]),
    ("mooncake", MC_OK[0] + '\n{"timestamp": 1, "hash_ids": "x"}\n', ["line 2"]),
    ("mooncake", b'{"hash_ids": [1]}\n\xff\xfe\n', ["line 2"]),
    ("csv", "", []),
    ("csv", "id\n1\nabc\n", ["line 3"]),
    ("csv", "key\n1\n", ["id"]),
    ("csv", "id,size\n1,10\n2,-5\n", ["line 3"]),
    ("oracle", b"\x00" * 7, []),
]


@pytest.mark.parametrize("command", ["replay", "mrc"])
@pytest.mark.parametrize("fmt,content,needles", [
    pytest.param(*a[:3], id=f"{a[0]}-{i}",
                 marks=[pytest.mark.xfail(strict=True, reason=a[3])] if len(a) > 3 else [])
    for i, a in enumerate(ACCESS)])
def test_bad_access_trace(tmp_path, cli_error, command, fmt, content, needles):
    f = tmp_path / "bad_access.txt"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content)
    argv = [command, f, "--format", fmt, "--policy", "lru"]
    if fmt == "csv" and "size" in (content if isinstance(content, str) else ""):
        argv += ["--size-column", "size", "--capacity-unit", "bytes"]
    argv += ["--capacity", "4"] if command == "replay" else ["--capacities", "4"]
    cli_error(argv, "bad_access.txt", *needles, family="trace")
