"""Shared fixtures: the laptop-with-flash platform and the OPT-6.7B catalogue model."""
import pytest

from memsim.hwmodels import load_platform
from memsim.workloads.model import load_model


@pytest.fixture(scope="session")
def laptop():
    return load_platform("laptop_flash")


@pytest.fixture(scope="session")
def opt():
    return load_model("opt-6.7b")
