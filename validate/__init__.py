"""Validation: real kernels timed on this machine against the simulator's predictions.

``calibrate`` -> ``write_host`` (a ``hwmodels`` platform) -> ``Predictor`` ->
``compare`` (time every configuration) -> ``write_report``; ``memsim validate``
runs all of it.  Nothing here needs a GPU.
"""
from .calibrate import Calibration, calibrate, host_platform_dict, load_calibration, write_host
from .compare import COLUMNS, Case, cases, compare, run_case, summarize
from .gpu import compare_stored
from .predict import Prediction, Predictor, attention_counts
from .report import render, write_report

__all__ = ["Calibration", "calibrate", "host_platform_dict", "load_calibration", "write_host",
           "COLUMNS", "Case", "cases", "compare", "run_case", "summarize", "compare_stored",
           "Prediction", "Predictor", "attention_counts", "render", "write_report"]
