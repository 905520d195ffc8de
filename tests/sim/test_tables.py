"""The output tables are declared once (sim/tables.py) and every run writes exactly that."""
from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import memsim
from memsim.cli import main
from memsim.sim.recording import Recorder
from memsim.sim.tables import FLOAT, OUTPUT, UNITLESS, UNITS, Column, markdown
from memsim.workloads.synthetic import write_mooncake_like

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engine.md"
BEGIN, END = "<!-- tables: generated from sim/tables.py; do not edit by hand -->\n", "<!-- end tables -->"


def _scenario(trace, tiers, tp=1):
    return {"platform": "h100_sxm", "model": "llama-3.1-8b", "seed": 0, "parallelism": {"tp": tp},
            "workload": {"kind": "mooncake", "path": str(trace), "time_scale": 0.3},
            "scheduler": {"max_batch_size": 64, "max_batch_tokens": 8192},
            "kv": {"block_tokens": 16, "memory_fraction": 0.25, "tiers": tiers}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An HBM-only run (no link rows at all), a tiered run and a tp=2 run, saved."""
    d = tmp_path_factory.mktemp("runs")
    trace = write_mooncake_like(d / "m.jsonl", 80, seed=5)
    out = {}
    for name, tiers, tp in (("hbm", [], 1), ("tiered", [{"tier": "dram", "capacity": "2 GiB"},
                                                        {"tier": "ssd", "capacity": "unlimited"}], 1),
                            ("tp2", [], 2)):
        res = memsim.run(_scenario(trace, tiers, tp), out=d / name)
        out[name] = (res, d / name, tuple(t["tier"] for t in tiers))
    return out


@pytest.mark.parametrize("run", ["hbm", "tiered", "tp2"])
def test_written_columns_are_the_declared_columns(runs, run):
    res, folder, tiers = runs[run]
    for name, table in OUTPUT.items():
        declared = table.schema(tiers)
        frame = getattr(res, name)
        assert list(frame.columns) == declared.names, name
        written = pq.read_schema(folder / f"{name}.parquet").remove_metadata()
        assert written.names == declared.names, name
        assert [f.type for f in written] == [f.type for f in declared], name


def test_hbm_only_and_tiered_runs_load_as_one_dataset(runs):
    assert len(runs["hbm"][0].links) == 0 and len(runs["tiered"][0].links) > 0
    assert runs["tiered"][0].tiers.capacity_bytes.isna().any()       # the unlimited ssd tier
    for name in OUTPUT:
        files = [str(runs[r][1] / f"{name}.parquet") for r in ("hbm", "tiered", "tp2")]
        schema = pa.unify_schemas([pq.read_schema(f).remove_metadata() for f in files])
        table = ds.dataset(files, schema=schema, format="parquet").to_table()
        assert table.num_rows == sum(len(getattr(runs[r][0], name)) for r in ("hbm", "tiered", "tp2"))


def test_each_suffix_means_one_unit_and_every_column_has_one():
    for table in OUTPUT.values():
        for c in table.columns:
            assert c.unit in UNITS or c.unit in UNITLESS, c.name
            if c.unit == "_s":
                assert c.dtype == FLOAT, c.name    # times are float seconds
    with pytest.raises(ValueError, match="no unit suffix"):
        Column("latency", FLOAT, "a time without its unit")
    with pytest.raises(ValueError, match="already gives the unit"):
        Column("ttft_s", FLOAT, "a unit said twice", "count")


def test_iteration_rows_are_recorded_in_the_declared_order():
    params = list(inspect.signature(Recorder.iteration).parameters)[1:]
    assert params == OUTPUT["iterations"].recorded()


def test_docs_table_reference_is_generated_from_the_declaration():
    text = DOCS.read_text()
    assert BEGIN in text and END in text
    head, rest = text.split(BEGIN)
    current, tail = rest.split(END)
    if os.environ.get("MEMSIM_UPDATE_DOCS") == "1":
        DOCS.write_text(head + BEGIN + markdown() + END + tail)
        return
    assert current == markdown(), "docs/engine.md is stale: rerun this test with MEMSIM_UPDATE_DOCS=1"


def test_schema_results_prints_every_table(capsys):
    assert main(["schema", "results", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for name, table in OUTPUT.items():
        assert [c["name"] for c in out["tables"][name]["columns"]] == [c.shown_name for c in table.columns]
    assert main(["schema", "results"]) == 0
    text = capsys.readouterr().out
    for table in OUTPUT.values():
        assert f"{table.name}.parquet" in text
        for c in table.columns:
            assert re.search(rf"^\s+{re.escape(c.shown_name)}\s+{re.escape(c.unit)}\s+{c.type_name}\s",
                             text, re.M), c.name
