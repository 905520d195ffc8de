"""Every kind of bad trace gives one TraceError naming the file, the line and the problem."""
from __future__ import annotations

import pytest

from memsim.ground.errors import TraceError
from memsim.workloads import open_workload

GOOD = '{"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [0, 1]}\n'
GOOD2 = '{"timestamp": 1000, "input_length": 100, "output_length": 10, "hash_ids": [2]}\n'

MOONCAKE_CASES = {
    "bad json": (GOOD + "{not json}\n", 2, "invalid JSON at column 2"),
    "missing field": (GOOD + '{"timestamp": 5, "input_length": 3}\n', 2, "missing field 'output_length'"),
    "not an object": (GOOD + "[1, 2, 3]\n", 2, "expected a JSON object"),
    "non-integer length": (GOOD + '{"timestamp": 5, "input_length": 3.5, "output_length": 1}\n',
                           2, "input_length 3.5 is not an integer"),
    "string length": (GOOD + '{"timestamp": 5, "input_length": "3", "output_length": 1}\n',
                      2, "input_length '3' is not an integer"),
    "bool length": (GOOD + '{"timestamp": 5, "input_length": true, "output_length": 1}\n',
                    2, "input_length True is not an integer"),
    "zero output": (GOOD + '{"timestamp": 5, "input_length": 3, "output_length": 0}\n',
                    2, "output_length 0 is not an integer in 1..2147483647"),
    "huge input": (GOOD + '{"timestamp": 5, "input_length": 1e400, "output_length": 1}\n',
                   2, "input_length inf is not an integer"),
    "too many tokens": (GOOD + '{"timestamp": 5, "input_length": 3000000000, "output_length": 1}\n',
                        2, "input_length 3000000000 is not an integer in 1..2147483647"),
    "negative input": ('{"timestamp": 5, "input_length": -3, "output_length": 1}\n',
                       1, "input_length -3"),
    "nan timestamp": (GOOD + '{"timestamp": NaN, "input_length": 3, "output_length": 1}\n',
                      2, "timestamp nan is not a finite number"),
    "inf timestamp": (GOOD + '{"timestamp": Infinity, "input_length": 3, "output_length": 1}\n',
                      2, "timestamp inf"),
    "unsorted": (GOOD2 + GOOD, 2, "timestamp out of order"),
    "hash count": (GOOD + '{"timestamp": 5, "input_length": 1025, "output_length": 1, '
                          '"hash_ids": [1, 2]}\n', 2, "hash_ids has 2 ids but input_length 1025 needs"),
    "negative hash": (GOOD + '{"timestamp": 5, "input_length": 3, "output_length": 1, '
                             '"hash_ids": [-1]}\n', 2, "hash_ids is not a list of integers >= 0"),
    "blank line": (GOOD + "\n" + GOOD2, 2, "blank line"),
    "truncated last line": (GOOD + GOOD2[:30], 2, "truncated last line"),
}


@pytest.mark.parametrize("name", sorted(MOONCAKE_CASES))
def test_mooncake_errors(tmp_path, name):
    text, line, words = MOONCAKE_CASES[name]
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        list(open_workload({"kind": "mooncake", "path": str(path)}))
    msg = str(err.value)
    assert str(path) in msg and f"line {line}:" in msg and words in msg, msg
    assert err.value.line == line and "\n" not in msg


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(GOOD.encode() + b'{"timestamp": 1, "x": "\xff\xfe"}\n')
    with pytest.raises(TraceError, match=r"line 2: not UTF-8"):
        list(open_workload({"kind": "mooncake", "path": str(path)}))


def test_first_row_errors_raise_at_open(tmp_path):
    """A file that is garbage from its first line fails before any request is consumed."""
    path = tmp_path / "garbage.jsonl"
    path.write_text("hello\n")
    with pytest.raises(TraceError, match="line 1: invalid JSON"):
        open_workload({"kind": "mooncake", "path": str(path)})


def test_later_errors_raise_while_streaming(tmp_path):
    path = tmp_path / "late.jsonl"
    path.write_text(GOOD + "oops\n")
    stream = open_workload({"kind": "mooncake", "path": str(path)})
    assert next(stream).input_tokens == 600
    with pytest.raises(TraceError, match="line 2"):
        next(stream)


def test_missing_file_names_the_resolved_path(tmp_path):
    with pytest.raises(TraceError, match="trace file not found") as err:
        open_workload({"kind": "mooncake", "path": "nope/t.jsonl"}, base_dir=tmp_path)
    assert str(tmp_path / "nope" / "t.jsonl") in str(err.value)


def test_directory_is_not_a_trace(tmp_path):
    with pytest.raises(TraceError, match="is a directory"):
        open_workload({"kind": "azure", "path": str(tmp_path)})


@pytest.mark.parametrize("kind, text", [("mooncake", ""), ("azure", ""),
                                        ("azure", "TIMESTAMP,ContextTokens,GeneratedTokens\n"),
                                        ("csv", "timestamp,input_tokens,output_tokens\n")])
def test_empty_trace(tmp_path, kind, text):
    path = tmp_path / "empty.txt"
    path.write_text(text)
    with pytest.raises(TraceError, match="empty trace") as err:
        open_workload({"kind": kind, "path": str(path)})
    assert str(path) in str(err.value)


def test_window_with_no_rows(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(GOOD + GOOD2)
    with pytest.raises(TraceError, match="no requests between start 5 s and end of trace"):
        open_workload({"kind": "mooncake", "path": str(path), "start": "5 s"})


HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
ROW = "2023-11-16 18:15:46.6805900,374,44\n"
AZURE_CASES = {
    "bad header": ("time,ctx,gen\n" + ROW, 1, "header lacks column 'TIMESTAMP'"),
    "bad timestamp": (HEADER + ROW + "yesterday,3,4\n", 3, "'yesterday' is not a time"),
    "bad date": (HEADER + ROW + "2023-13-45 18:15:47.0,3,4\n", 3, "invalid date"),
    "bad hour": (HEADER + ROW + "2023-11-16 25:15:47.0,3,4\n", 3, "invalid time of day"),
    "non-integer": (HEADER + ROW + "2023-11-16 18:15:47.0,3.5,4\n", 3,
                    "ContextTokens '3.5' is not an integer"),
    "zero output": (HEADER + ROW + "2023-11-16 18:15:47.0,3,0\n", 3, "GeneratedTokens 0 must be in 1.."),
    "nan": (HEADER + ROW + "2023-11-16 18:15:47.0,nan,4\n", 3, "ContextTokens 'nan' is not an integer"),
    "fields": (HEADER + ROW + "2023-11-16 18:15:47.0,3\n", 3, "has 2 fields, expected 3"),
    "unsorted": (HEADER + ROW + "2023-11-16 18:15:40.0,3,4\n", 3, "timestamp out of order"),
    "truncated": (HEADER + ROW + "2023-11-16 18:15:47.0,3", 3, "truncated last line"),
    "blank": (HEADER + ROW + "\n" + ROW, 3, "blank line"),
}


@pytest.mark.parametrize("name", sorted(AZURE_CASES))
def test_azure_errors(tmp_path, name):
    text, line, words = AZURE_CASES[name]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        list(open_workload({"kind": "azure", "path": str(path)}))
    msg = str(err.value)
    assert str(path) in msg and f"line {line}:" in msg and words in msg, msg


CSV_HEAD = "timestamp,input_tokens,output_tokens,h\n"
CSV_CASES = {
    "missing column": ("timestamp,input,output_tokens\n1,2,3\n", 1, "no column 'input_tokens'"),
    "inf time": (CSV_HEAD + "0,5,1,1\ninf,5,1,1\n", 3, "timestamp 'inf' is not finite"),
    "text time": (CSV_HEAD + "0,5,1,1\nsoon,5,1,1\n", 3, "timestamp 'soon' is not a number"),
    "bad hashes": (CSV_HEAD + "0,5,1,1 x\n", 2, "h '1 x' is not a list of integers"),
    "hash count": (CSV_HEAD + "0,600,1,1\n", 2, "h has 1 ids but the input length 600 needs"),
    "negative length": (CSV_HEAD + "0,-5,1,1\n", 2, "input_tokens -5 must be in 1.."),
    "unsorted": (CSV_HEAD + "5,5,1,1\n4,5,1,1\n", 3, "timestamp out of order"),
    "huge output": (CSV_HEAD + "0,5,99999999999,1\n", 2, "output_tokens 99999999999 must be in 1.."),
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_errors(tmp_path, name):
    text, line, words = CSV_CASES[name]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        list(open_workload({"kind": "csv", "path": str(path), "hash_ids_column": "h"}))
    msg = str(err.value)
    assert str(path) in msg and f"line {line}:" in msg and words in msg, msg


def test_parquet_errors_name_the_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"timestamp": [0.0, 1.0, 0.5], "input_tokens": [1, 2, 3],
                             "output_tokens": [1, 1, 1]}), path)
    with pytest.raises(TraceError, match=r"row 3: timestamp out of order"):
        list(open_workload({"kind": "parquet", "path": str(path)}))
    pq.write_table(pa.table({"timestamp": [0.0, 1.0], "input_tokens": [1, None],
                             "output_tokens": [1, 1]}), path)
    with pytest.raises(TraceError, match=r"row 2: input_tokens is empty"):
        list(open_workload({"kind": "parquet", "path": str(path)}))
    pq.write_table(pa.table({"timestamp": [0.0], "input_tokens": [1.5], "output_tokens": [1]}), path)
    with pytest.raises(TraceError, match=r"column 'input_tokens' has type double"):
        open_workload({"kind": "parquet", "path": str(path)})
    path.write_text("not parquet at all")
    with pytest.raises(TraceError, match="not a readable Parquet file"):
        open_workload({"kind": "parquet", "path": str(path)})
