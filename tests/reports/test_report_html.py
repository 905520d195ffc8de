"""The HTML report: self-contained (plotly.js once, no external URLs), every section with data, atomic."""
from __future__ import annotations

import re

import plotly.graph_objects as go
import plotly.offline

import memsim.reports as reports
from memsim.cli import main


def _outside_scripts(html: str) -> str:
    return re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S | re.I)


def _check_offline(html: str) -> None:
    js = plotly.offline.get_plotlyjs()
    assert html.count(js[:300]) == 1, "plotly.js must be embedded exactly once"
    assert not re.search(r"<script[^>]+\bsrc\s*=", html, re.I), "no external scripts"
    assert not re.search(r"<link\b", html, re.I), "no linked stylesheets"
    rest = _outside_scripts(html)
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//""", rest, re.I), "no external URLs"


def test_one_real_result(engine_results, tmp_path):
    res, _ = engine_results["lru"]
    out = reports.render(res, tmp_path / "sub" / "report.html")
    assert out == tmp_path / "sub" / "report.html"
    html = out.read_text()
    _check_offline(html)
    for anchor in ("scenario", "metrics", "latency", "throughput", "batch", "tiers", "timeline"):
        assert f'<section id="{anchor}">' in html, anchor
    n_fig = html.count('class="plotly-graph-div"')
    assert n_fig == 6
    assert "Not in these results (no data): Link bandwidth" in html      # quickstart has no links
    assert "h100_sxm" in html and "llama-3.1-8b" in html and "lru" in html
    assert f"{res.summary['completed']:,}" in html
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]     # no temp files left


def test_several_results_compare_with_deltas(engine_results, tmp_path):
    results = {k: r for k, (r, _) in engine_results.items()}
    html = reports.build_html(results) if hasattr(reports, "build_html") else \
        reports.render(results, tmp_path / "r.html").read_text()
    assert "memsim comparison: lru vs small-kv" in html
    assert "Δ small-kv" in html
    assert "kv.memory_fraction" in html                                    # the "what differs" table
    _check_offline(html)


def test_every_optional_section_when_the_data_is_there(make_result, tmp_path, monkeypatch):
    seen = []

    def attention_io_figure(df):
        seen.append(len(df))
        return go.Figure(go.Scatter(x=df["sram_bytes"], y=df["io_bytes"]))

    monkeypatch.setattr(reports.figures, "attention_io_figure", attention_io_figure)
    res = make_result(0)
    import pandas as pd
    res.extras["attention_io"] = pd.DataFrame({"sram_bytes": [1, 2, 4], "io_bytes": [9, 5, 3]})
    html = reports.render(res, tmp_path / "r.html").read_text()
    for anchor in ("links", "hits", "mrc"):
        assert f'<section id="{anchor}">' in html
    assert "Attention I/O" in html and seen == [3]
    assert "Not in these results" not in html
    assert html.count('class="plotly-graph-div"') == 9


def test_cli_report(engine_results, tmp_path, capsys):
    (_, a), (_, b) = engine_results.values()
    assert main(["report", str(a)]) == 0
    assert (a / "report.html").is_file()
    out = tmp_path / "both.html"
    assert main(["report", str(a), str(b), "--out", str(out), "--title", "two runs"]) == 0
    html = out.read_text()
    assert "<title>two runs</title>" in html and "Δ small-kv" in html
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"memsim: error: {tmp_path}: not a memsim result directory (no summary.json)"]
