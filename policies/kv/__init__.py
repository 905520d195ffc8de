"""Policies for KV beyond HBM: write (when blocks go down), promotion (copy up or serve in
place), load (load vs recompute), prefetch (while queued), overlap (layer-wise or blocking),
allocation (how HBM KV is reserved).  Importing this package registers the built-ins."""
from . import allocation, load, overlap, prefetch, promotion, write  # noqa: F401
