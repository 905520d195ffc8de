"""The ground layer: errors, units, YAML schema, atomic files, progress, catalogue lookup, ids.

It imports nothing of memsim; every other layer may import it.
"""

__version__ = "0.1.0"
