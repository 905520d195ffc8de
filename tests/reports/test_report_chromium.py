"""A generated report in real headless Chromium: no console errors, no network, every figure drawn.

Chromium runs with a proxy that points nowhere, so any request it tried would
fail and show up in the DevTools Network events this test records.  Skipped
when no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
"""
from __future__ import annotations

import pytest

import memsim.reports as reports


@pytest.fixture(scope="module")
def chromium(browser):
    exe = browser.find_chromium()
    if exe is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    return exe


def _ink(browser, png: bytes) -> tuple[float, int]:
    w, h, bpp, rows = browser.png_pixels(png)
    colours, ink = set(), 0
    for row in rows:
        for x in range(w):
            px = bytes(row[x * bpp:x * bpp + 3])
            colours.add(px)
            ink += px != b"\xff\xff\xff"
    return ink / (w * h), len(colours)


def _check_page(browser, chromium, path):
    html = path.read_text()
    got = browser.open_report(path, exe=chromium)
    assert got["console_errors"] == [] and got["exceptions"] == [] and got["log_errors"] == []
    assert got["requests"] == [path.resolve().as_uri()], "the page must load nothing but itself"
    assert got["failed"] == []
    figs = got["probe"]["figures"]
    assert len(figs) == html.count('class="plotly-graph-div"') > 0
    for f in figs:
        assert f["svg"] >= 1 and f["drawn"] >= 1, f
        ink, colours = _ink(browser, got["screenshots"][f["id"]])
        assert ink > 0.02 and colours > 10, (f["id"], ink, colours)
    return figs


def test_real_results_render_in_chromium(browser, chromium, engine_results, tmp_path):
    results = {k: r for k, (r, _) in engine_results.items()}
    figs = _check_page(browser, chromium, reports.render(results, tmp_path / "report.html"))
    assert len(figs) == 6


def test_every_figure_kind_renders_in_chromium(browser, chromium, make_result, tmp_path):
    from memsim.sim.kernel import sweep
    res = make_result(2)              # tiers, links, hit counters and a miss-ratio curve
    res.extras["attention_io"] = sweep(1024, 64, [1024, 4096, 16384], ["flash2", "small_m"])
    figs = _check_page(browser, chromium, reports.render(res, tmp_path / "report.html"))
    assert len(figs) == 9
