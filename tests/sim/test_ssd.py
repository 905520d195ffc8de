"""The SSD device model: closed form vs events, the size curve, Little's law."""
import math

import numpy as np
import pytest
import simpy

from memsim.ground.errors import ConfigError
from memsim.hwmodels import Tier, load_platform
from memsim.sim.ssd import SSD

KiB = 1024


@pytest.fixture(scope="module")
def flash():
    return load_platform("laptop_flash").tier_of_kind("flash")


def _run_read(tier, nbytes, request_size, queue_depth=None):
    env = simpy.Environment()
    ssd = SSD(env, tier, queue_depth=queue_depth)
    env.process(ssd.read(nbytes, request_size))
    env.run()
    return env.now, ssd


@pytest.mark.parametrize("n", [1, 7, 32, 64, 70])
def test_events_match_closed_form(flash, n):
    t, ssd = _run_read(flash, n * 16 * KiB, 16 * KiB)
    assert t == pytest.approx(ssd.batch_time_s(n, 16 * KiB), rel=1e-12)
    st = ssd.stats()
    assert st["read_requests"] == n and st["read_bytes"] == n * 16 * KiB


def test_mixed_batch_equals_uniform_batch_for_full_rounds(flash):
    ssd = SSD(simpy.Environment(), flash)
    assert ssd.mixed_batch_time_s([16 * KiB], [64]) == pytest.approx(ssd.batch_time_s(64, 16 * KiB))
    both = ssd.mixed_batch_time_s([16 * KiB, 64 * KiB], [32, 32])
    assert both > ssd.mixed_batch_time_s([16 * KiB], [32])


def test_bigger_chunks_give_higher_throughput(flash):
    total = 64 * 2**20
    sizes = [4 * KiB, 8 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB]
    bw = []
    for s in sizes:
        t, _ = _run_read(flash, total, s)
        bw.append(total / t)
    assert all(b2 >= b1 for b1, b2 in zip(bw, bw[1:])), bw
    assert bw[-1] > 5 * bw[0]
    assert bw[-1] <= flash.read_bw * (1 + 1e-9)


def test_more_queue_depth_gives_higher_throughput_for_small_reads(flash):
    t1, _ = _run_read(flash, 4 * 2**20, 4 * KiB, queue_depth=1)
    t32, _ = _run_read(flash, 4 * 2**20, 4 * KiB, queue_depth=32)
    assert t1 > 8 * t32


def test_latency_floor_without_curve():
    tier = Tier(name="disk", kind="ssd", capacity="1 TB", read_bw="1 GB/s", write_bw="0.5 GB/s",
                latency="100 us", granularity="4 KiB", parallelism=4, source="test")
    ssd = SSD(simpy.Environment(), tier)
    assert ssd.service_time_s(4096, 1) == pytest.approx(100e-6)       # latency bound
    assert ssd.service_time_s(2**20, 1) == pytest.approx(2**20 / 1e9)  # bandwidth bound
    assert ssd.service_time_s(2**20, 1, write=True) == pytest.approx(2**20 / 0.5e9)
    assert ssd.rounded_bytes(1) == 4096 and ssd.rounded_bytes(4097) == 8192


def test_bad_queue_depth(flash):
    with pytest.raises(ConfigError, match="queue_depth"):
        SSD(simpy.Environment(), flash, queue_depth=0)


def test_littles_law_under_poisson_load(flash):
    """Time-average requests in the device == arrival rate x mean latency."""
    rng = np.random.default_rng(7)
    env = simpy.Environment()
    ssd = SSD(env, flash, queue_depth=8)
    rate_per_s = 60_000.0          # ~half the 16 KiB, depth-8 request rate
    n = 6000
    sizes = rng.choice([4 * KiB, 16 * KiB, 64 * KiB], size=n, p=[0.3, 0.5, 0.2])

    def arrivals():
        for s in sizes:
            yield env.timeout(rng.exponential(1.0 / rate_per_s))
            ssd.request(int(s))

    env.process(arrivals())
    env.run()
    st = ssd.stats()
    assert st["read_requests"] == n and ssd.in_system == 0
    lam_w = rate_per_s * st["mean_latency_s"]
    assert st["mean_in_system"] == pytest.approx(lam_w, rel=0.05)
    # the device was really loaded: queueing, not just service
    assert st["mean_in_system"] > 1.0
    measured = n / st["elapsed_s"]
    assert st["mean_in_system"] == pytest.approx(measured * st["mean_latency_s"], rel=1e-9)
    assert not math.isnan(st["read_bytes_per_s"])


def test_writes_use_the_write_bandwidth():
    tier = Tier(name="disk", kind="ssd", capacity="1 TB", read_bw="2 GB/s", write_bw="1 GB/s",
                latency="10 us", granularity="4 KiB", parallelism=2, source="test")
    env = simpy.Environment()
    ssd = SSD(env, tier)

    def both():
        yield from ssd.write(8 * 2**20, 2**20)
        yield from ssd.read(8 * 2**20, 2**20)

    env.process(both())
    env.run()
    st = ssd.stats()
    assert st["write_requests"] == 8 and st["read_requests"] == 8
    # depth 2: each request 2 * 1 MiB / bw; 4 rounds each
    assert env.now == pytest.approx(4 * 2 * 2**20 / 1e9 + 4 * 2 * 2**20 / 2e9)
    assert st["busy_s"] == pytest.approx(env.now)
