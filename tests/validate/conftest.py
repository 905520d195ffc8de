"""Shared fixtures: a hand-made calibrated host (no measuring) for fast, exact tests."""
from __future__ import annotations

import pytest

from memsim.validate.calibrate import Calibration
from memsim.validate.levels import Level

KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3


def make_calibration(**rates) -> Calibration:
    levels = (
        Level(name="l1", kind="sram", capacity_bytes=32 * KiB, count=2, read_bytes_per_s=100e9,
              latency_s=1e-9, probe_bytes=16 * KiB, line_bytes=64, source="test", overlap=1.0),
        Level(name="l2", kind="sram", capacity_bytes=1 * MiB, count=2, read_bytes_per_s=50e9,
              latency_s=5e-9, probe_bytes=256 * KiB, line_bytes=64, source="test", overlap=0.5),
        Level(name="l3", kind="sram", capacity_bytes=16 * MiB, count=1, read_bytes_per_s=25e9,
              latency_s=40e-9, probe_bytes=4 * MiB, line_bytes=64, source="test", overlap=1.0),
        Level(name="dram", kind="dram", capacity_bytes=16 * GiB, count=1, read_bytes_per_s=10e9,
              latency_s=100e-9, probe_bytes=256 * MiB, line_bytes=64, source="test", overlap=0.0),
    )
    r = {"gemm_flop_per_s": 4e9, "attention_flop_per_s": 50e9, "attention_exp_s": 5e-9,
         "decode_flop_per_s": 40e9, "decode_exp_s": 4e-9}
    r.update(rates)
    return Calibration(levels=levels, rates=r, cpu="Test CPU", cores=2, clock_hz=2.5e9,
                       quick=True, notes=[])


@pytest.fixture
def cal() -> Calibration:
    return make_calibration()


@pytest.fixture
def make_cal():
    return make_calibration
