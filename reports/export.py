"""Figures out of the browser: static images for papers, and where a page's plotly.js comes from.

Static export goes through plotly and kaleido (the optional extra
``memsim[images]``), which drives a headless Chrome or Chromium; both missing
pieces are one-line errors.  ``plotly_js`` says how an HTML page gets plotly.js:
``inline`` (the default: 4.8 MB inside every page, works offline), ``cdn`` (a
script tag to plotly's CDN: small pages that need the network) or a ``.js`` path
(written once, shared by every page that names it, offline).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import plotly.io as pio
import plotly.offline

from memsim.ground.errors import ConfigError
from memsim.ground.files import atomic_write_text

__all__ = ["IMAGE_FORMATS", "check_image_format", "check_plotly_js", "write_images", "image_path",
           "include_plotlyjs", "plotly_js_tag", "write_figure", "notebook_figures", "can_render_images"]

IMAGE_FORMATS = ("png", "svg", "pdf")
_INSTALL = "pip install 'memsim[images]'"


def _has_kaleido() -> bool:
    return importlib.util.find_spec("kaleido") is not None


def check_image_format(fmt: str | None, *, field: str = "--image-format") -> None:
    """Fail before any work when the format is unknown or kaleido is not installed."""
    if fmt is None:
        return
    if fmt not in IMAGE_FORMATS:
        raise ConfigError(f"image format {fmt!r}: expected one of {', '.join(IMAGE_FORMATS)}", field=field)
    if not _has_kaleido():
        raise ConfigError(f"static image export needs kaleido: {_INSTALL}", field=field)


def check_plotly_js(mode: str, *, field: str = "--plotly-js") -> None:
    if mode in ("inline", "cdn"):
        return
    if not str(mode).endswith(".js"):
        raise ConfigError(f"{mode!r}: expected inline, cdn or a file name ending in .js", field=field)
    if Path(mode).is_dir():
        raise ConfigError(f"{mode!r} is a directory; expected a .js file name", field=field)


def image_path(html_path: str | Path, fmt: str) -> Path:
    """The image beside an HTML figure: ``mrc.html`` -> ``mrc.png``."""
    return Path(html_path).with_suffix(f".{fmt}")


def write_images(figs: Mapping[str | Path, object], *, width: int = 1000, height: int | None = None,
                 scale: float = 2.0) -> list[Path]:
    """Write each ``{path: figure}`` as a static image (format from the suffix), in one browser session."""
    if not figs:
        return []
    check_image_format(Path(next(iter(figs))).suffix.lstrip("."))
    paths = [Path(p) for p in figs]
    # written under temporary names, then renamed: a reader never sees half an image
    tmps = [p.with_name(f".{p.stem}.partial{p.suffix}") for p in paths]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        heights = [height or getattr(f.layout, "height", None) or 500 for f in figs.values()]  # type: ignore[attr-defined]
        pio.write_images(list(figs.values()), [str(t) for t in tmps], width=width, height=heights, scale=scale)
    except BaseException as e:
        for t in tmps:
            t.unlink(missing_ok=True)
        if isinstance(e, RuntimeError) and "Chrome" in str(e):
            raise ConfigError("static image export needs Chrome or Chromium (Debian: apt-get install "
                              "chromium; or run plotly_get_chrome; BROWSER_PATH names another)",
                              field="--image-format") from None
        raise
    for t, p in zip(tmps, paths):
        os.replace(t, p)
    return paths


def _shared_js(path: str | Path) -> Path:
    """Write plotly.js to ``path`` unless it already holds this version."""
    p = Path(path)
    js = plotly.offline.get_plotlyjs()
    if not (p.is_file() and p.stat().st_size == len(js.encode())):
        atomic_write_text(p, js)
    return p


def _src(js_path: Path, html_path: str | Path) -> str:
    return os.path.relpath(js_path.resolve(), Path(html_path).resolve().parent).replace(os.sep, "/")


def include_plotlyjs(mode: str, html_path: str | Path) -> bool | str:
    """The ``include_plotlyjs`` argument of ``Figure.write_html`` for a page at ``html_path``."""
    check_plotly_js(mode)
    if mode == "inline":
        return True
    if mode == "cdn":
        return "cdn"
    return _src(_shared_js(mode), html_path)


def plotly_js_tag(mode: str, html_path: str | Path | None) -> str:
    """The ``<script>`` element that loads plotly.js in a page written to ``html_path``."""
    check_plotly_js(mode)
    if mode == "inline":
        return f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'
    if mode == "cdn":
        url = f"https://cdn.plot.ly/plotly-{plotly.offline.get_plotlyjs_version()}.min.js"
        return f'<script src="{url}" charset="utf-8"></script>'
    return f'<script src="{_src(_shared_js(mode), html_path or ".")}" charset="utf-8"></script>'


def write_figure(fig, html_path: str | Path, *, plotly_js: str = "inline",
                 image_format: str | None = None) -> list[Path]:
    """Write one figure as HTML and, with ``image_format``, as an image beside it; return the paths."""
    html_path = Path(html_path)
    check_image_format(image_format)
    atomic_write_text(html_path, fig.to_html(include_plotlyjs=include_plotlyjs(plotly_js, html_path),
                                             full_html=True))
    written = [html_path]
    if image_format:
        written += write_images({image_path(html_path, image_format): fig})
    return written


def can_render_images() -> bool:
    """kaleido is installed and a Chrome or Chromium is found (``BROWSER_PATH`` or the PATH)."""
    if not _has_kaleido():
        return False
    given = os.environ.get("BROWSER_PATH")
    if given:
        return Path(given).is_file()
    return any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "chrome"))


def notebook_figures(*, static: bool | None = None, width: int = 900) -> str:
    """Make a notebook's figures show wherever it is read: interactive in Jupyter and, beside
    each, a PNG that nbconvert's HTML and code hosts display (they ignore plotly's own output).

    ``static``: None adds the PNG where it can be rendered (``can_render_images``) unless
    ``MEMSIM_NB_STATIC=0``; True requires it; False keeps the interactive output only.
    Returns the plotly renderer now in use.
    """
    if static is None:
        static = os.environ.get("MEMSIM_NB_STATIC", "1") != "0" and can_render_images()
    elif static:
        check_image_format("png", field="notebook_figures")
    pio.renderers["png"].width = width
    pio.renderers["png"].scale = 1
    pio.renderers.default = "plotly_mimetype+png" if static else "plotly_mimetype"
    return pio.renderers.default
