"""The engine's cost model (kept at this path for the engine and for users' imports).

The implementation lives in ``memsim.sim.timing``: an iteration is the kernels a
vLLM-style engine launches, each timed from measured tables or the analytic model.
"""
from .timing import CostModel, IterationShape, KernelTimer

__all__ = ["CostModel", "IterationShape", "KernelTimer"]
