"""Flash weight-loading policies: which FFN neurons to read from flash per token.

Importing this package registers ``naive``, ``windowing``, ``bundling`` and
``windowing_bundling`` in the ``flash`` family (after "LLM in a flash").
"""
from .base import FlashPolicy
from .bundling import Bundling
from .naive import Naive
from .windowing import Windowing
from .windowing_bundling import WindowingBundling

__all__ = ["FlashPolicy", "Naive", "Windowing", "Bundling", "WindowingBundling"]
