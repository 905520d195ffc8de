"""Fuzzing the trace readers for a fixed budget: bytes -> file -> reader.

Every outcome is either valid requests/accesses or one ``ConfigError``/``TraceError``
line naming the file; any other exception (or a multi-line message) is a bug.
Inputs are random bytes, and valid samples of each format with random byte edits
(insert, delete, replace), which reach much deeper into the parsers.  Covers the
request readers (``open_workload``: mooncake, azure, csv, parquet) and the access
readers of ``memsim replay``/``mrc`` (``read_accesses``: ids, mooncake, csv, oracle).
"""
from __future__ import annotations

import io
import math
import struct

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memsim.ground.errors import ConfigError
from memsim.workloads import open_workload
from memsim.workloads.accesses import read_accesses

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parquet_sample() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"timestamp": [0.0, 0.5, 1.25], "input_tokens": [600, 20, 30],
                  "output_tokens": [3, 1, 2]}).to_parquet(buf, index=False)
    return buf.getvalue()


REQUEST_SAMPLES = {
    "mooncake": b'{"timestamp": 0, "input_length": 600, "output_length": 10, "hash_ids": [0, 1]}\n'
                b'{"timestamp": 1500, "input_length": 512, "output_length": 2, "hash_ids": [0]}\n',
    "azure": b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n"
             b"2023-11-16 18:15:50.9951690,396,109\n",
    "csv": b"timestamp,input_tokens,output_tokens\n0.5,600,3\n0.75,20,1\n",
    "parquet": _parquet_sample(),
}
ACCESS_SAMPLES = {
    "ids": b"1\n2\n1\n3\n",
    "mooncake": REQUEST_SAMPLES["mooncake"],
    "csv": b"id,size\n1,10\n2,20\n1,10\n",
    "oracle": b"".join(struct.pack("<IQIq", t, k, 100, -1) for t, k in [(1, 5), (2, 6), (3, 5)]),
}

edits = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, 1 << 16),
                           st.binary(min_size=1, max_size=4)), min_size=1, max_size=5)


def corrupt(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, chunk in ops:
        i = pos % (len(b) + 1)
        if op == "insert":
            b[i:i] = chunk
        elif op == "delete":
            del b[i:i + len(chunk)]
        else:
            b[i:i + len(chunk)] = chunk
    return bytes(b)


# Found by this fuzzer and fixed (kept as regression tests at the end): a corrupt Parquet
# file's error carried pyarrow's multi-line message (workloads/tabular.py), and non-UTF-8
# bytes raised UnicodeDecodeError from an access CSV (workloads/accesses.py) or Parquet
# metadata (workloads/tabular.py).


def _clean_error(e: ConfigError, path) -> None:
    msg = str(e)
    assert "\n" not in msg, msg
    assert str(path) in msg or (e.file and str(path) in e.file), msg


def _check_requests(kind, path):
    try:
        reqs = list(open_workload({"kind": kind, "path": str(path)}))
    except ConfigError as e:
        _clean_error(e, path)
        return
    assert reqs
    t = [r.arrival_s for r in reqs]
    assert all(math.isfinite(x) for x in t) and t == sorted(t) and t[0] == 0
    assert all(isinstance(r.input_tokens, int) and r.input_tokens >= 1 for r in reqs)
    assert all(isinstance(r.output_tokens, int) and r.output_tokens >= 1 for r in reqs)
    assert [r.request_id for r in reqs] == list(range(len(reqs)))


def _check_accesses(fmt, path):
    extra = {"size_column": "size"} if fmt == "csv" else {}
    try:
        acc = read_accesses(path, format=fmt, **extra)
    except ConfigError as e:
        _clean_error(e, path)
        return
    ids = np.asarray(acc.ids)
    assert ids.ndim == 1 and len(ids) > 0
    if acc.sizes is not None:
        assert len(acc.sizes) == len(ids) and (np.asarray(acc.sizes) > 0).all()


@settings(max_examples=300, **SETTINGS)
@given(kind=st.sampled_from(sorted(REQUEST_SAMPLES)), ops=edits)
def test_request_readers_on_edited_samples(tmp_path, kind, ops):
    p = tmp_path / f"fuzz.{kind}"
    p.write_bytes(corrupt(REQUEST_SAMPLES[kind], ops))
    _check_requests(kind, p)


@settings(max_examples=150, **SETTINGS)
@given(kind=st.sampled_from(sorted(REQUEST_SAMPLES)), data=st.binary(max_size=300))
def test_request_readers_on_random_bytes(tmp_path, kind, data):
    p = tmp_path / f"fuzz.{kind}"
    p.write_bytes(data)
    _check_requests(kind, p)


@settings(max_examples=300, **SETTINGS)
@given(fmt=st.sampled_from(sorted(ACCESS_SAMPLES)), ops=edits)
def test_access_readers_on_edited_samples(tmp_path, fmt, ops):
    p = tmp_path / f"fuzz.{fmt}"
    p.write_bytes(corrupt(ACCESS_SAMPLES[fmt], ops))
    _check_accesses(fmt, p)


@settings(max_examples=150, **SETTINGS)
@given(fmt=st.sampled_from(sorted(ACCESS_SAMPLES)), data=st.binary(max_size=300))
def test_access_readers_on_random_bytes(tmp_path, fmt, data):
    p = tmp_path / f"fuzz.{fmt}"
    p.write_bytes(data)
    _check_accesses(fmt, p)


# ---- regression tests for what the fuzzer found -----------------------------------------

def _flipped_parquet(i: int) -> bytes:
    b = bytearray(REQUEST_SAMPLES["parquet"])
    b[i] ^= 0xFF
    return bytes(b)


@pytest.mark.parametrize("byte", [4, 335])
def test_corrupt_parquet_error_is_one_line(tmp_path, byte):
    p = tmp_path / "flip.parquet"
    p.write_bytes(_flipped_parquet(byte))
    with pytest.raises(ConfigError) as e:
        list(open_workload({"kind": "parquet", "path": str(p)}))
    _clean_error(e.value, p)


def test_parquet_with_non_utf8_metadata_is_a_trace_error(tmp_path):
    p = tmp_path / "flip.parquet"
    p.write_bytes(_flipped_parquet(358))
    with pytest.raises(ConfigError) as e:
        list(open_workload({"kind": "parquet", "path": str(p)}))
    _clean_error(e.value, p)


def test_access_csv_with_non_utf8_bytes_is_a_trace_error(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes(b"id,size\n1,\x8010\n")
    with pytest.raises(ConfigError) as e:
        read_accesses(p, format="csv", size_column="size")
    _clean_error(e.value, p)
