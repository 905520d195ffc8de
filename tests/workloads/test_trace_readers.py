"""Trace readers on tiny files written here: Mooncake, Azure, generic CSV and Parquet."""
from __future__ import annotations

import json

import pytest

from memsim.workloads import Request, open_workload

MOONCAKE_ROWS = [
    {"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [0, 1]},
    {"timestamp": 1500, "input_length": 512, "output_length": 20, "hash_ids": [0]},
    {"timestamp": 1500, "input_length": 1100, "output_length": 30, "hash_ids": [0, 1, 2]},
    {"timestamp": 4000, "input_length": 100, "output_length": 40, "hash_ids": [3]},
    {"timestamp": 9000, "input_length": 7, "output_length": 50, "hash_ids": [4]},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def mooncake(tmp_path):
    return write_jsonl(tmp_path / "t.jsonl", MOONCAKE_ROWS)


def test_mooncake_fields(mooncake):
    reqs = list(open_workload({"kind": "mooncake", "path": str(mooncake)}))
    assert [r.request_id for r in reqs] == [0, 1, 2, 3, 4]
    assert [r.arrival_s for r in reqs] == [0.0, 1.5, 1.5, 4.0, 9.0]
    assert [r.input_tokens for r in reqs] == [600, 512, 1100, 100, 7]
    assert [r.output_tokens for r in reqs] == [10, 20, 30, 40, 50]
    assert reqs[2].hash_ids == (0, 1, 2)
    assert all(isinstance(r, Request) and r.hash_block_tokens == 512 for r in reqs)
    assert reqs[0].session_id == -1 and reqs[0].gap_s == 0.0


def test_relative_path_resolves_against_base_dir(mooncake):
    reqs = list(open_workload({"kind": "mooncake", "path": mooncake.name}, base_dir=mooncake.parent))
    assert len(reqs) == 5


def test_limit(mooncake):
    reqs = list(open_workload({"kind": "mooncake", "path": str(mooncake), "limit": 2}))
    assert [r.input_tokens for r in reqs] == [600, 512]


def test_time_scale_two_halves_gaps(mooncake):
    reqs = list(open_workload({"kind": "mooncake", "path": str(mooncake), "time_scale": 2.0}))
    assert [r.arrival_s for r in reqs] == [0.0, 0.75, 0.75, 2.0, 4.5]


def test_window_rebases_to_start(mooncake):
    spec = {"kind": "mooncake", "path": str(mooncake), "start": "1 s", "end": "5 s"}
    reqs = list(open_workload(spec))
    # rows at 1.5, 1.5 and 4.0 s are kept; each arrives at its offset from start
    assert [r.arrival_s for r in reqs] == [0.5, 0.5, 3.0]
    assert [r.request_id for r in reqs] == [0, 1, 2]
    assert [r.input_tokens for r in reqs] == [512, 1100, 100]


def test_window_time_scale_and_limit_compose(mooncake):
    spec = {"kind": "mooncake", "path": str(mooncake), "start": "1500 ms", "time_scale": 0.5,
            "limit": 3}
    reqs = list(open_workload(spec))
    assert [r.arrival_s for r in reqs] == [0.0, 0.0, 5.0]


def test_offsets_are_from_first_row(tmp_path):
    rows = [dict(r, timestamp=r["timestamp"] + 60_000) for r in MOONCAKE_ROWS]
    path = write_jsonl(tmp_path / "late.jsonl", rows)
    reqs = list(open_workload({"kind": "mooncake", "path": str(path), "start": "4 s"}))
    assert [r.arrival_s for r in reqs] == [0.0, 5.0]


def test_mooncake_custom_block_size_and_no_hashes(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", [
        {"timestamp": 0, "input_length": 40, "output_length": 1, "hash_ids": [5, 6, 7]},
        {"timestamp": 1, "input_length": 3, "output_length": 1}])
    reqs = list(open_workload({"kind": "mooncake", "path": str(path), "hash_block_tokens": 16}))
    assert reqs[0].hash_ids == (5, 6, 7) and reqs[0].hash_block_tokens == 16
    assert reqs[1].hash_ids is None and reqs[1].hash_block_tokens == 0


AZURE = ("TIMESTAMP,ContextTokens,GeneratedTokens\n"
         "2023-11-16 23:59:59.5000000,374,44\n"
         "2023-11-17 00:00:00.7500001,396,109\n"
         "2023-11-17 00:00:02.5000000,20,5\n")


def test_azure_seconds_since_first_row_across_midnight(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(AZURE)
    reqs = list(open_workload({"kind": "azure", "path": str(path)}))
    assert [r.input_tokens for r in reqs] == [374, 396, 20]
    assert [r.output_tokens for r in reqs] == [44, 109, 5]
    assert reqs[0].arrival_s == 0.0
    assert reqs[1].arrival_s == pytest.approx(1.2500001, abs=1e-9)
    assert reqs[2].arrival_s == pytest.approx(3.0, abs=1e-9)
    assert reqs[0].hash_ids is None and reqs[0].hash_block_tokens == 0


def test_csv_columns_units_and_hashes(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("t_ms;prompt;gen;blocks\n"
                    "1000;20;3;1 2\n"
                    "1250;33;4;1 2 9\n"
                    "3000;5;1;7\n")
    spec = {"kind": "csv", "path": str(path), "delimiter": ";", "arrival_column": "t_ms",
            "time_unit": "ms", "input_column": "prompt", "output_column": "gen",
            "hash_ids_column": "blocks", "hash_block_tokens": 16}
    reqs = list(open_workload(spec))
    assert [r.arrival_s for r in reqs] == [0.0, 0.25, 2.0]
    assert [r.hash_ids for r in reqs] == [(1, 2), (1, 2, 9), (7,)]
    assert reqs[0].hash_block_tokens == 16


def test_csv_semicolon_separated_hashes_and_datetime(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("when,in,out,h\n"
                    "2024-01-01 10:00:00,600,1,\"3;4\"\n"
                    "2024-01-01 10:00:01.5,10,1,5\n")
    spec = {"kind": "csv", "path": str(path), "arrival_column": "when", "time_unit": "datetime",
            "input_column": "in", "output_column": "out", "hash_ids_column": "h"}
    reqs = list(open_workload(spec))
    assert [r.arrival_s for r in reqs] == [0.0, 1.5]
    assert [r.hash_ids for r in reqs] == [(3, 4), (5,)]


def test_parquet_streams_batches(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n = 1000
    table = pa.table({"arrival_us": [i * 500 for i in range(n)],
                      "in": [i + 1 for i in range(n)],
                      "out": [2] * n,
                      "h": [[i] for i in range(n)]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=128)
    spec = {"kind": "parquet", "path": str(path), "arrival_column": "arrival_us",
            "time_unit": "us", "input_column": "in", "output_column": "out",
            "hash_ids_column": "h", "hash_block_tokens": 4096}
    reqs = list(open_workload(spec))
    assert len(reqs) == n
    assert reqs[999].arrival_s == pytest.approx(0.4995)
    assert reqs[999].input_tokens == 1000 and reqs[999].hash_ids == (999,)
    assert [r.request_id for r in reqs] == list(range(n))


def test_parquet_timestamp_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime as dt
    t0 = dt.datetime(2024, 5, 1, 12, 0, 0)
    table = pa.table({"timestamp": pa.array([t0, t0 + dt.timedelta(seconds=2.5)],
                                            pa.timestamp("us")),
                      "input_tokens": [5, 6], "output_tokens": [1, 1]})
    path = tmp_path / "ts.parquet"
    pq.write_table(table, path)
    reqs = list(open_workload({"kind": "parquet", "path": str(path), "time_unit": "datetime"}))
    assert [r.arrival_s for r in reqs] == [0.0, 2.5]


def test_gzip_traces_stream(tmp_path):
    import gzip
    path = tmp_path / "t.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in MOONCAKE_ROWS))
    reqs = list(open_workload({"kind": "mooncake", "path": str(path)}))
    assert [r.input_tokens for r in reqs] == [600, 512, 1100, 100, 7]
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    from memsim.ground.errors import TraceError
    with pytest.raises(TraceError, match="cannot read"):
        list(open_workload({"kind": "mooncake", "path": str(path)}))
