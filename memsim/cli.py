"""The ``memsim`` command: subcommands are discovered from ``sim/commands/*.py``.

Each command module defines ``register(subparsers)``, which adds its parser and
sets ``func=`` to a function taking the parsed args and returning an exit status.
This is the one place that catches MemsimError: it prints the one-line message
and exits with status 2 (bad input).  Anything else is a bug and keeps its
traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from memsim.ground.errors import MemsimError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str):  # noqa: D401
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memsim",
        description="Discrete-event simulator of memory hierarchies for LLM workloads.",
        epilog="example: memsim run scenarios/quickstart.yaml --out runs/quick",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from memsim import __version__
    parser.add_argument("--version", action="version", version=f"memsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    from . import commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        rc = args.func(args)
    except MemsimError as e:
        sys.stderr.write(f"memsim: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("memsim: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    return int(rc or 0)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
