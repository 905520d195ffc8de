"""Iteration and kernel timing: measured kernel tables first, a fitted analytic model otherwise.

``CostModel`` times whole iterations for the engine; ``KernelTimer`` times single kernels
(``gemm``, ``context_attention``, ``generation_attention``, ``all_reduce``, ``elementwise``,
all in seconds) for any other part that needs them.  ``docs/calibration.md`` has the model.
"""
from .costmodel import CostModel
from .shape import IterationShape
from .timer import KernelTimer, device_of
from .transfer import analytic_params, nearest_calibrated

__all__ = ["CostModel", "IterationShape", "KernelTimer", "device_of", "analytic_params", "nearest_calibrated"]
