"""Training memory across the hierarchy: ZeRO stages and offload, checkpointing, pipelines.

    >>> from memsim.sim.train import run_train
    >>> r = run_train("scenarios/train-llama8b-8xh100.yaml")     # doctest: +SKIP
    >>> r.summary["step_s"], r.memory_frame().groupby(["tier", "state"]).bytes_per_device.sum()

A ``kind: train`` scenario (``scenario``) is resolved against its platform and
model (``layout``); its memory per tier and state class is exact (``memory``,
``activations``); one optimizer step is simulated in SimPy over the platform's
links (``step``, ``paths``) with kernel times from ``kernels``; ``search`` finds
the fastest plan that fits and ``fit`` the largest model / longest sequence per
strategy.  See docs/training.md.
"""
from .fit import STRATEGIES, fit_limits, max_layers, max_seq_len
from .kernels import CalibratedKernels, KernelTimes, RooflineKernels
from .layout import Layout, resolve
from .memory import MemoryPlan, plan_memory
from .result import TrainResult, evaluate
from .run import run_train
from .scenario import TrainScenario, load_train_scenario
from .search import SearchResult, search_plans

__all__ = ["TrainScenario", "load_train_scenario", "run_train", "TrainResult", "evaluate",
           "resolve", "Layout", "plan_memory", "MemoryPlan", "search_plans", "SearchResult",
           "fit_limits", "max_layers", "max_seq_len", "STRATEGIES", "KernelTimes", "CalibratedKernels", "RooflineKernels"]
