"""Execute every notebook in place, so the committed copies carry their outputs and figures.

Figures get a PNG beside plotly's interactive output (``memsim.reports.export.notebook_figures``),
which nbconvert's HTML and code hosts show; that needs kaleido (``pip install 'memsim[images]'``)
and Chrome or Chromium. Run from the repository root after changing a notebook or the engine:

    python notebooks/execute.py                      # all of them
    python notebooks/execute.py compare_policies     # one
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat

from memsim.reports.export import can_render_images

HERE = Path(__file__).resolve().parent


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:                 # keep diffs small: no execution timestamps
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(HERE.parent)}")


def main(names: list[str]) -> int:
    if not can_render_images():
        sys.exit("notebooks/execute.py needs kaleido and Chrome/Chromium for the static figures: "
                 "pip install 'memsim[images]'; apt-get install chromium")
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] or sorted(HERE.glob("*.ipynb"))
    for p in paths:
        execute(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
