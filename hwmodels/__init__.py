"""placeholder package docstring, replaced by its owner."""
