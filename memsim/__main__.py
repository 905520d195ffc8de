"""``python -m memsim``: the command line."""
from memsim.cli import entry

entry()
