"""Reading access sequences for replay: the four formats and their one-line errors."""
import json

import numpy as np
import pytest

from memsim.cli import main
from memsim.ground.errors import ConfigError, TraceError
from memsim.ground.ids import densify
from memsim.workloads.accesses import ORACLE_DTYPE, read_accesses, write_oracle


def test_ids(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("5\n3\n 7 \n5\n")
    acc = read_accesses(f, format="ids")
    assert acc.ids.tolist() == [5, 3, 7, 5] and acc.sizes is None


def test_ids_are_unsigned_64_bit(tmp_path):
    # block ids are >= 0 (as in a Mooncake trace); a uint64 hash keeps its bits as int64
    f = tmp_path / "a.txt"
    f.write_text(f"1\n{2**64 - 1}\n1\n")
    assert read_accesses(f, format="ids").ids.tolist() == [1, -1, 1]
    f.write_text("5\n-3\n")
    with pytest.raises(TraceError, match="line 2: id -3 is negative"):
        read_accesses(f, format="ids")


def test_mooncake_blocks_in_file_order(tmp_path):
    f = tmp_path / "m.jsonl"
    rows = [{"timestamp": 0, "input_length": 900, "output_length": 1, "hash_ids": [0, 1]},
            {"timestamp": 3000, "input_length": 600, "output_length": 1, "hash_ids": [0, 2, 3]}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    acc = read_accesses(f, format="mooncake")
    assert acc.ids.tolist() == [0, 1, 0, 2, 3]
    assert acc.times_s.tolist() == [0, 0, 3, 3, 3]


def test_oracle_round_trip(tmp_path):
    f = tmp_path / "o.bin"
    write_oracle(f, [10, 2**40, 10], sizes=[100, 200, 100])
    assert f.stat().st_size == 3 * 24
    rec = np.fromfile(f, dtype=ORACLE_DTYPE)
    assert rec["next"].tolist() == [2, -1, -1]
    acc = read_accesses(f, format="oracle")
    assert acc.ids.tolist() == [10, 2**40, 10] and acc.sizes.tolist() == [100, 200, 100]


def test_csv_named_columns(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("t,key,bytes\n0.5,7,100\n1.5,8,200\n2.0,7,100\n")
    acc = read_accesses(f, format="csv", id_column="key", size_column="bytes", time_column="t")
    assert acc.ids.tolist() == [7, 8, 7]
    assert acc.sizes.tolist() == [100, 200, 100] and acc.times_s.tolist() == [0.5, 1.5, 2.0]


def test_densify():
    dense, n = densify(np.array([10**12, 5, 10**12, -1]))
    assert n == 3 and dense[0] == dense[2] and len(set(dense.tolist())) == 3


@pytest.mark.parametrize("fmt,content,needle", [
    ("ids", "1\n2\nabc\n4\n", "t: line 3: 'abc' is not an integer id"),
    ("ids", "1\n2.5\n", "line 2: '2.5' is not an integer id"),
    ("ids", "1\n\n3\n", "line 2: empty line"),
    ("mooncake", '{"timestamp": 0, "hash_ids": [1, 2]}\n{"timestamp": 1, "hash_id',
     "line 2: not a JSON"),
    ("mooncake", '{"timestamp": 0, "hash_ids": [1, "x"]}\n',
     "line 1: hash_ids must be a list of integers"),
    ("mooncake", '{"timestamp": 0}\n', "line 1: row has no hash_ids"),
    ("csv", "id,size\n1,2\n3\n", "line 3: column 'size': missing value"),
    ("csv", "id\n1\nfoo\n", "line 3: column 'id': 'foo' is not an integer"),
    ("csv", "key\n1\n", "line 1: no column 'id'"),
])
def test_bad_rows_name_file_and_line(tmp_path, fmt, content, needle):
    f = tmp_path / "t"
    f.write_text(content)
    with pytest.raises(TraceError) as e:
        read_accesses(f, format=fmt, **({"size_column": "size"} if "size" in content else {}))
    assert str(e.value).startswith(str(f)) and needle.replace("t: ", "") in str(e.value)


def test_oracle_wrong_record_size(tmp_path):
    f = tmp_path / "o.bin"
    f.write_bytes(b"\0" * 50)
    with pytest.raises(TraceError, match="50 bytes is not a whole number of 24-byte"):
        read_accesses(f, format="oracle")


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown trace format"):
        read_accesses(tmp_path / "x", format="parquet")
    with pytest.raises(TraceError, match="no such file"):
        read_accesses(tmp_path / "x", format="ids")


@pytest.mark.parametrize("fmt,data,needle", [
    ("ids", b"1\n2\nx9\n", "line 3"),
    ("mooncake", b'{"hash_ids": [1]}\n{"hash_ids": [', "line 2"),
    ("oracle", b"\0" * 25, "24-byte"),
])
def test_cli_bad_trace_one_line_exit_2(tmp_path, capsys, fmt, data, needle):
    f = tmp_path / "bad"
    f.write_bytes(data)
    assert main(["replay", str(f), "--format", fmt, "--policy", "lru", "--capacity", "2"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("memsim: error: ") and needle in err
    assert "Traceback" not in err


def test_cli_oracle_bytes(tmp_path, capsys):
    f = tmp_path / "o.bin"
    write_oracle(f, [1, 2, 1, 3, 1], sizes=[400, 700, 400, 200, 400])
    assert main(["replay", str(f), "--format", "oracle", "--policy", "lru", "--capacity", "1 kB",
                 "--capacity-unit", "bytes", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    # 1 kB: 1 (400 B), then 2 (700 B) pushes 1 out, 1 pushes 2 out, 3 fits beside 1, 1 hits
    assert row["capacity"] == 1000 and row["hits"] == 1
