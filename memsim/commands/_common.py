"""Helpers shared by subcommands: example-bearing parsers and JSON output."""
from __future__ import annotations

import argparse
import json
import math
import sys

__all__ = ["add_command", "print_json", "to_jsonable"]


def add_command(sub, name: str, *, help: str, example: str, func) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE (a module name or a .py file) first, so the policies it "
                        "@register-s can be named in scenario files (repeatable; also the "
                        "MEMSIM_PLUGINS environment variable, comma-separated)")
    return p


def to_jsonable(obj):
    import numpy as np
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj, *, file=None) -> None:
    (file or sys.stdout).write(json.dumps(to_jsonable(obj), sort_keys=False) + "\n")
