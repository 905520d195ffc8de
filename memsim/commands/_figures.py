"""Flags shared by commands that write figures: static images for papers, where plotly.js comes from."""
from __future__ import annotations

__all__ = ["add_figure_args", "check_figure_args"]


def add_figure_args(p, *, where: str = "beside the HTML file") -> None:
    p.add_argument("--image-format", choices=("png", "svg", "pdf"), metavar="png|svg|pdf",
                   help=f"also write each figure as a static image {where} (needs the extra: "
                        "pip install 'memsim[images]', and Chrome or Chromium)")
    p.add_argument("--plotly-js", default="inline", metavar="inline|cdn|FILE.js",
                   help="how HTML pages get plotly.js: inline (default; 4.8 MB per page, offline), "
                        "cdn (small pages that load it from the network), or FILE.js (written once and "
                        "shared by every page naming it, offline)")


def check_figure_args(args) -> None:
    """One-line errors for the figure flags before anything runs."""
    from memsim.reports.export import check_image_format, check_plotly_js
    check_image_format(args.image_format)
    check_plotly_js(args.plotly_js)
