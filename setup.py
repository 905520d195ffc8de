"""Packaging glue that pyproject.toml cannot express: the folder-to-namespace mapping.

Every top-level source folder installs as a subpackage of ``memsim`` (``sim/`` is
``memsim.sim``), and every folder under it that holds an ``__init__.py`` is a
package, found here rather than listed by hand.
"""
from pathlib import Path

from setuptools import setup

#: import name -> repository folder
ROOTS = {
    "memsim": "memsim",
    "memsim.ground": "ground",
    "memsim.hwmodels": "hwmodels",
    "memsim.policies": "policies",
    "memsim.workloads": "workloads",
    "memsim.sim": "sim",
    "memsim.reports": "reports",
    "memsim.validate": "validate",
    "memsim.studies": "studies",
    "memsim.scenarios": "scenarios",
}


def packages() -> list[str]:
    here = Path(__file__).resolve().parent
    out = []
    for name, folder in ROOTS.items():
        for init in sorted((here / folder).rglob("__init__.py")):
            if "__pycache__" in init.parts:
                continue
            out.append(".".join((name, *init.parent.relative_to(here / folder).parts)))
    return out


setup(packages=packages(), package_dir=ROOTS)
