"""The layers of DESIGN.md, checked over every import (inside functions too).

    face     memsim (the API module), memsim.cli, memsim.commands
    studies  memsim.reports, memsim.validate, memsim.studies
    engine   memsim.sim
    parts    memsim.policies, memsim.workloads, memsim.hwmodels (never each other)
    ground   memsim.ground, memsim.scenarios (data only)

A module may import its own subpackage and any layer below its own; nothing
imports the face; there is no import cycle between modules.  Imports inside
functions are allowed only for optional extras (third-party) and in the face.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"memsim": "memsim", "ground": "memsim.ground", "scenarios": "memsim.scenarios",
         "policies": "memsim.policies", "workloads": "memsim.workloads", "hwmodels": "memsim.hwmodels",
         "sim": "memsim.sim", "reports": "memsim.reports", "validate": "memsim.validate",
         "studies": "memsim.studies"}
LAYER = {"memsim.ground": 0, "memsim.scenarios": 0,
         "memsim.policies": 1, "memsim.workloads": 1, "memsim.hwmodels": 1,
         "memsim.sim": 2,
         "memsim.reports": 3, "memsim.validate": 3, "memsim.studies": 3,
         "memsim": 4, "memsim.cli": 4, "memsim.commands": 4, "memsim.__main__": 4}
#: layers whose subpackages may import each other (the parts must stay independent)
SHARED_LAYERS = {3, 4}


def _modules() -> dict[str, Path]:
    mods = {}
    for folder, pkg in ROOTS.items():
        for p in sorted((REPO / folder).rglob("*.py")):
            rel = p.relative_to(REPO / folder).with_suffix("")
            parts = [] if rel.parts == ("__init__",) else list(rel.parts)
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([pkg, *parts])] = p
    return mods


MODULES = _modules()


def _unit(mod: str) -> str:
    """The layer unit a module belongs to: memsim.sim.engine -> memsim.sim, memsim.cli -> memsim.cli."""
    best = "memsim"
    for u in LAYER:
        if (mod == u or mod.startswith(u + ".")) and len(u) > len(best):
            best = u
    return best


def _imports(mod: str, path: Path):
    """(target module, line, inside a function?) for every project import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    pkg = mod if is_pkg else mod.rpartition(".")[0]
    out = []

    def visit(node, in_func):
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    if a.name == "memsim" or a.name.startswith("memsim."):
                        out.append((a.name, child.lineno, f))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = pkg.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target == "memsim" or target.startswith("memsim."):
                    for a in child.names:
                        sub = f"{target}.{a.name}"
                        out.append((sub if sub in MODULES else target, child.lineno, f))
            visit(child, f)

    visit(tree, False)
    return out


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_source_folder_is_mapped():
    """setup.py maps exactly these folders into the namespace (and finds their subpackages)."""
    import runpy
    import sys
    from unittest import mock
    with mock.patch("setuptools.setup"), mock.patch.object(sys, "argv", ["setup.py"]):
        ns = runpy.run_path(str(REPO / "setup.py"))
    assert {v: k for k, v in ns["ROOTS"].items()} == ROOTS
    found = set(ns["packages"]())
    for folder, pkg in ROOTS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            sub = ".".join([pkg, *init.parent.relative_to(REPO / folder).parts])
            assert sub in found, sub


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_imports_go_down_the_layers(mod):
    unit = _unit(mod)
    lay = LAYER[unit]
    bad = []
    for target, line, _ in GRAPH[mod]:
        tu = _unit(target)
        if tu == unit:
            continue
        tl = LAYER[tu]
        if tl > lay or (tl == lay and lay not in SHARED_LAYERS):
            bad.append(f"{MODULES[mod].relative_to(REPO)}:{line} imports {target} ({tu}, layer {tl}) "
                       f"from {unit} (layer {lay})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if LAYER[_unit(m)] < 4))
def test_no_project_import_inside_functions(mod):
    """A function-level import hides an arrow between modules; only the face loads lazily."""
    bad = [f"{MODULES[mod].relative_to(REPO)}:{line} imports {t} inside a function"
           for t, line, in_func in GRAPH[mod] if in_func]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    edges = {m: {t for t, _, _ in GRAPH[m] if t in MODULES and t != m} for m in MODULES}
    # a package's __init__ importing its own submodules is how packages re-export;
    # the submodule importing the package back is the cycle we care about
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    import sys
    sys.setrecursionlimit(10000)
    for m in sorted(edges):
        if m not in index:
            strong(m)
    assert not comps, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in comps)
