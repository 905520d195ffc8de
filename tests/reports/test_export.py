"""Figures for papers (static images through kaleido) and a shared plotly.js instead of 4.8 MB per page."""
from __future__ import annotations

import importlib.util
import shutil

import plotly.graph_objects as go
import pytest

from memsim.cli import main
from memsim.reports import export
from memsim.reports.export import write_figure, write_images

HAS_KALEIDO = importlib.util.find_spec("kaleido") is not None
HAS_CHROME = bool(shutil.which("chromium") or shutil.which("google-chrome") or shutil.which("chrome"))


def _fig():
    return go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="a"), layout={"title": "t", "height": 300})


def test_missing_kaleido_is_one_line_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(export, "_has_kaleido", lambda: False)
    trace = tmp_path / "ids.txt"
    trace.write_text("1\n2\n1\n3\n1\n")
    rc = main(["mrc", str(trace), "--format", "ids", "--html", str(tmp_path / "m.html"),
               "--image-format", "png", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "pip install 'memsim[images]'" in err
    assert not (tmp_path / "m.html").exists()          # checked before any work


def test_image_format_needs_an_html_file(tmp_path, capsys):
    trace = tmp_path / "ids.txt"
    trace.write_text("1\n2\n1\n")
    assert main(["mrc", str(trace), "--format", "ids", "--image-format", "svg", "--quiet"]) == 2
    assert "--html" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_KALEIDO, reason="kaleido (memsim[images]) not installed")
def test_missing_chrome_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chrome"))
    with pytest.raises(export.ConfigError, match="Chrome or Chromium"):
        write_images({tmp_path / "f.png": _fig()})
    assert list(tmp_path.iterdir()) == []               # no half-written image left


@pytest.mark.skipif(not (HAS_KALEIDO and HAS_CHROME), reason="needs kaleido and Chrome/Chromium")
def test_static_images_render(tmp_path):
    paths = write_images({tmp_path / "a.png": _fig(), tmp_path / "b.svg": _fig(), tmp_path / "c.pdf": _fig()})
    assert [p.name for p in paths] == ["a.png", "b.svg", "c.pdf"]
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "b.svg").read_bytes()[:400]
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"


def test_shared_plotly_js_is_written_once_and_referenced(tmp_path):
    js = tmp_path / "assets" / "plotly.min.js"
    for name in ("a", "b"):
        write_figure(_fig(), tmp_path / "figs" / f"{name}.html", plotly_js=str(js))
    page = (tmp_path / "figs" / "a.html").read_text()
    assert 'src="../assets/plotly.min.js"' in page and len(page) < 100_000
    assert js.stat().st_size > 1_000_000
    cdn = write_figure(_fig(), tmp_path / "c.html", plotly_js="cdn")[0].read_text()
    assert "cdn.plot.ly" in cdn and len(cdn) < 100_000
    inline = write_figure(_fig(), tmp_path / "i.html")[0].read_text()
    assert len(inline) > 1_000_000                      # the default stays self-contained


def test_report_with_shared_js(engine_results, tmp_path, capsys):
    (_, folder), = [engine_results["lru"]]
    out = tmp_path / "r.html"
    assert main(["report", str(folder), "--out", str(out), "--plotly-js", str(tmp_path / "plotly.js")]) == 0
    page = out.read_text()
    assert 'src="plotly.js"' in page and len(page) < 2_000_000
    assert main(["report", str(folder), "--out", str(out), "--plotly-js", "plotly"]) == 2
    assert "expected inline, cdn or a file name ending in .js" in capsys.readouterr().err


@pytest.mark.skipif(not (HAS_KALEIDO and HAS_CHROME), reason="needs kaleido and Chrome/Chromium")
def test_report_figures_as_images(make_result, tmp_path):
    from memsim.reports import render
    out = render({"a": make_result(0), "b": make_result(1)}, tmp_path / "report.html", image_format="svg")
    figs = sorted(p.name for p in (tmp_path / "report-figures").iterdir())
    assert out.is_file() and figs == sorted(f"{a}.svg" for a in ("latency", "throughput", "batch", "tiers",
                                                                  "links", "hits", "timeline", "mrc"))
