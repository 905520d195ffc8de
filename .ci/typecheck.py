"""Run mypy on memsim's public API: ``memsim/__init__.py`` and the modules whose names it exports.

The repository's folders install as subpackages of ``memsim`` (``sim/`` is ``memsim.sim``),
a mapping mypy cannot follow in an editable install, so this lays out the package as it is
installed (symlinks in ``build/typecheck/``) and checks it there. Modules the API imports are
analysed for their types; errors are reported for the API modules (``API`` below; the
config is pyproject.toml's ``[tool.mypy]``).

    python .ci/typecheck.py          # exit status 0 when clean
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TREE = REPO / "build" / "typecheck"
#: the public API: the face and the modules whose names it exports (paths as installed)
API = ["memsim/__init__.py", "memsim/ground/errors.py", "memsim/ground/progress.py",
       "memsim/workloads/model.py", "memsim/workloads/hf_config.py", "memsim/workloads/length.py",
       "memsim/studies/compare.py", "memsim/studies/sweep.py", "memsim/studies/runner.py",
       "memsim/reports/__init__.py", "memsim/reports/html.py", "memsim/reports/export.py",
       "memsim/reports/sweep_report.py", "memsim/reports/figures.py", "memsim/reports/tables.py"]


def roots() -> dict[str, str]:
    """setup.py's ``ROOTS`` (import name -> folder), read without running setup.py."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "ROOTS" for t in targets):
                return ast.literal_eval(node.value)
    raise SystemExit("setup.py defines no ROOTS mapping")


def lay_out() -> Path:
    """``build/typecheck/memsim/...`` as the wheel would hold it, made of symlinks."""
    mapping = roots()
    root = TREE / "memsim"
    if TREE.exists():
        for p in sorted(TREE.rglob("*"), key=lambda q: len(q.parts), reverse=True):
            p.unlink() if p.is_symlink() or p.is_file() else p.rmdir()
    root.mkdir(parents=True)
    for item in (REPO / "memsim").iterdir():
        if item.name != "__pycache__":
            os.symlink(item, root / item.name)
    for pkg, folder in mapping.items():
        if pkg != "memsim":
            os.symlink(REPO / folder, root / pkg.split(".", 1)[1])
    return TREE


def main() -> int:
    tree = lay_out()
    targets = [str(tree / t) for t in API]
    env = dict(os.environ, MYPYPATH=str(tree))
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), *targets]
    return subprocess.call(cmd, cwd=tree, env=env)


if __name__ == "__main__":
    sys.exit(main())
