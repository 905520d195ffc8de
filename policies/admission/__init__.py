"""Admission filters: whether a missed object is stored at all.

Importing this package registers the built-ins; ``base.Admission`` is the interface.
"""
from .always import Always
from .base import Admission
from .second_hit import SecondHit
from .size_threshold import SizeThreshold

__all__ = ["Admission", "Always", "SecondHit", "SizeThreshold"]
