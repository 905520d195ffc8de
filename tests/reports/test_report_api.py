"""The public surface of ``reports`` is what docs/reports.md documents."""
from __future__ import annotations

import inspect
from pathlib import Path

import memsim.reports as reports
from memsim.reports import figures, tables

DOC = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()


def test_package_exports():
    assert sorted(reports.__all__) == ["figures", "render", "tables"]
    params = inspect.signature(reports.render).parameters
    assert list(params) == ["results", "out_path", "title", "plotly_js", "image_format"]
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in ("title", "plotly_js", "image_format"))


def test_every_figure_and_table_function_is_documented():
    for mod in (figures, tables):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj):
                assert f"`{name}" in DOC, f"{mod.__name__}.{name} is not in docs/reports.md"
                assert obj.__doc__, f"{mod.__name__}.{name} has no docstring"
