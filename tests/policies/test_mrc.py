"""Miss-ratio curves: the one-pass LRU curve equals replay at every capacity."""
import json

import numpy as np
import pytest

from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.policies.mrc import capacity_grid, figure, lru_curve, mrc, write_curve
from memsim.policies.replay import replay


def _ids(seed=0, n=6000, universe=900):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, universe + 1) ** 0.9
    return (rng.choice(universe, n, p=p / p.sum()) * 13 + 7).astype(np.int64)


def test_one_pass_lru_equals_replay_at_every_capacity():
    ids = _ids()
    caps = list(range(1, 60)) + [100, 333, 899, 900, 5000]
    for row in lru_curve(ids, caps):
        assert row["hits"] == replay(ids, "lru", row["capacity"]).hits, row["capacity"]


def test_lru_curve_is_non_decreasing():
    rows = lru_curve(_ids(1), capacity_grid(900, 30))
    ratios = [r["hit_ratio"] for r in rows]
    assert ratios == sorted(ratios)


def test_other_policies_by_parallel_replay_in_grid_order():
    ids = _ids(2)
    caps = [400, 10, 100]            # order kept as given
    rows = mrc(ids, "s3fifo", caps, workers=2)
    assert [r["capacity"] for r in rows] == caps
    for r in rows:
        assert r["hits"] == replay(ids, "s3fifo", r["capacity"]).hits


def test_lru_with_sizes_falls_back_to_replay():
    ids = _ids(3, n=2000, universe=300)
    sizes = ids % 5 + 1
    rows = mrc(ids, "lru", [50, 200], sizes=sizes, workers=1)
    assert [r["hits"] for r in rows] == [replay(ids, "lru", c, sizes=sizes).hits for c in (50, 200)]


def test_capacity_grid():
    g = capacity_grid(1000, 10)
    assert g[0] == 1 and g[-1] == 1000 and g == sorted(set(g))
    with pytest.raises(ConfigError):
        capacity_grid(1000, 0)


def test_write_curve_and_figure(tmp_path):
    rows = lru_curve(_ids(4), [1, 10, 100])
    write_curve(rows, str(tmp_path / "c.csv"))
    write_curve(rows, str(tmp_path / "c.json"))
    assert (tmp_path / "c.csv").read_text().startswith("policy,capacity")
    assert json.loads((tmp_path / "c.json").read_text())[2]["capacity"] == 100
    with pytest.raises(ConfigError):
        write_curve(rows, str(tmp_path / "c.txt"))
    fig = figure(rows)
    assert list(fig.data[0].x) == [1, 10, 100]


def test_cli_mrc(tmp_path, capsys):
    ids = _ids(5, n=3000)
    trace = tmp_path / "t.txt"
    trace.write_text("\n".join(map(str, ids)) + "\n")
    out, html = tmp_path / "m.csv", tmp_path / "m.html"
    rc = main(["mrc", str(trace), "--format", "ids", "--policy", "lru", "--policy", "fifo",
               "--capacities", "5,50,500", "--out", str(out), "--html", str(html),
               "--workers", "1"])
    assert rc == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 6 and lines[1].startswith("lru,5,")
    assert "plotly" in html.read_text()[:100000].lower()
    capsys.readouterr()
    assert main(["mrc", str(trace), "--format", "ids", "--points", "4", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4 and rows[-1]["policy"] == "lru"
    assert main(["mrc", str(trace), "--format", "ids", "--capacities", "5", "50,500",
                 "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["capacity"] for r in rows] == [5, 50, 500]


def test_cli_mrc_bad_out_exit_2(tmp_path, capsys):
    trace = tmp_path / "t.txt"
    trace.write_text("1\n2\n1\n")
    assert main(["mrc", str(trace), "--format", "ids", "--capacities", "1,2",
                 "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "must end in .csv or .json" in capsys.readouterr().err
