# PYTHON_ARGCOMPLETE_OK  (shell completion: pip install 'memsim[completion]'; see README)
"""The ``memsim`` command: subcommands are discovered from ``memsim/commands/*.py``.

Each command module defines ``register(subparsers)``, which adds its parser and
sets ``func=`` to a function taking the parsed args and returning an exit status.
This is the one place that catches MemsimError: it prints the one-line message
and exits with status 2 (bad input); a warning the library raises (``warnings``)
is printed as one line too.  Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings

from memsim.ground.errors import MemsimError
from memsim.policies.registry import PLUGINS_ENV, load_env_plugins, load_plugin

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


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (argcomplete, an optional extra) and exit; else nothing."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if argv is None:
        _complete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    saved_env = os.environ.get(PLUGINS_ENV)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            load_plugins(getattr(args, "plugin", []))
            rc = args.func(args)
    except MemsimError as e:
        for line in str(e).splitlines() or [""]:   # several problems: one line each
            sys.stderr.write(f"memsim: error: {line}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("memsim: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    finally:  # --plugin exported the modules to this command's workers, not beyond it
        if saved_env is None:
            os.environ.pop(PLUGINS_ENV, None)
        else:
            os.environ[PLUGINS_ENV] = saved_env
    return int(rc or 0)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning (e.g. a widened sample interval) is one line on stderr, like an error."""
    sys.stderr.write(f"memsim: warning: {message}\n")


def load_plugins(names: list[str]) -> None:
    """``--plugin`` modules join ``MEMSIM_PLUGINS`` (so sweep workers load them too), then load.

    The user named these modules, so importing them is their choice; scenario files
    never can (see docs/security.md).
    """
    for n in names:
        load_plugin(n, source="--plugin")
    env = [v.strip() for v in os.environ.get(PLUGINS_ENV, "").split(",") if v.strip()]
    env += [n for n in names if n not in env]
    if env:
        os.environ[PLUGINS_ENV] = ",".join(env)
        load_env_plugins()


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
