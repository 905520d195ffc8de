"""The one SSD model: closed forms, the same curve as a fair-share channel, the size curve."""
import pytest
import simpy

from memsim.ground.errors import ConfigError
from memsim.hwmodels import Tier, load_platform
from memsim.sim.link import Network
from memsim.sim.ssd import SSD

KiB = 1024


@pytest.fixture(scope="module")
def flash():
    return load_platform("laptop_flash").tier_of_kind("flash")


def _concurrent(ssd: SSD, k: int, request_bytes: int) -> float:
    """k transfers of one request each, started together on the device's channel."""
    env = simpy.Environment()
    net = Network(env)
    ch = net.register(ssd.channel(request_bytes))
    for _ in range(k):
        net.transfer(request_bytes, (ch,))
    env.run()
    assert ch.active == 0 and ch.bytes_total == pytest.approx(k * request_bytes)
    return env.now


@pytest.mark.parametrize("k", [1, 7, 32])
def test_channel_matches_closed_form_up_to_the_queue_depth(flash, k):
    ssd = SSD(flash)
    assert k <= ssd.queue_depth
    assert _concurrent(ssd, k, 16 * KiB) == pytest.approx(ssd.batch_time_s(k, 16 * KiB), rel=1e-9)


def test_striping_over_devices_multiplies_the_channel(flash):
    one, four = SSD(flash), SSD(flash, devices=4)
    assert four.channel_bandwidth_fn(64 * KiB)(8) == pytest.approx(4 * one.channel_bandwidth_fn(64 * KiB)(8))
    assert four.sequential_bytes_per_s() == pytest.approx(4 * one.sequential_bytes_per_s())


@pytest.mark.parametrize("platform", ["h100_sxm", "l40s", "rtx4090", "laptop_flash"])
def test_channel_equals_the_hierarchy_device_curve(platform):
    """The engine's KV device channel today is bandwidth_at(chunk, min(parallelism, n)) x count:
    SSD(tier, devices=count).channel_bandwidth_fn gives the same numbers (chunk sizes are
    multiples of the granularity), so the engine can switch to it without a change."""
    hw = load_platform(platform)
    tier = hw.tier_of_kind("ssd") or hw.tier_of_kind("flash")
    ssd = SSD(tier, devices=tier.count)
    for chunk in (16 * 128 * KiB, 256 * KiB, 4 * 2**20):
        for write in (False, True):
            fn = ssd.channel_bandwidth_fn(chunk, write=write)
            for n in (1, 3, 64, 1000):
                want = tier.bandwidth_at(chunk, min(tier.parallelism, n), write=write) * tier.count
                assert fn(n) == pytest.approx(want, rel=1e-12)
    assert ssd.has_curve and ssd.channel_latency_s == 0.0


def test_mixed_batch_equals_uniform_batch_for_full_rounds(flash):
    ssd = SSD(flash)
    assert ssd.mixed_batch_time_s([16 * KiB], [64]) == pytest.approx(ssd.batch_time_s(64, 16 * KiB))
    both = ssd.mixed_batch_time_s([16 * KiB, 64 * KiB], [32, 32])
    assert both > ssd.mixed_batch_time_s([16 * KiB], [32])


def test_bigger_chunks_give_higher_throughput(flash):
    ssd = SSD(flash)
    total = 64 * 2**20
    sizes = [4 * KiB, 8 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB]
    bw = [total / ssd.batch_time_s(total // s, s) for s in sizes]
    assert all(b2 >= b1 for b1, b2 in zip(bw, bw[1:])), bw
    assert bw[-1] > 5 * bw[0]
    assert bw[-1] <= flash.read_bw * (1 + 1e-9)


def test_more_queue_depth_gives_higher_throughput_for_small_reads(flash):
    n = 4 * 2**20 // (4 * KiB)
    t1 = SSD(flash, queue_depth=1).batch_time_s(n, 4 * KiB)
    t32 = SSD(flash, queue_depth=32).batch_time_s(n, 4 * KiB)
    assert t1 > 8 * t32


def test_a_partial_last_round_runs_at_the_smaller_depth(flash):
    ssd = SSD(flash, queue_depth=8)
    s = 16 * KiB
    assert ssd.batch_time_s(11, s) == pytest.approx(ssd.service_time_s(s, 8) + ssd.service_time_s(s, 3))


def test_latency_floor_without_curve():
    tier = Tier(name="disk", kind="ssd", capacity="1 TB", read_bw="1 GB/s", write_bw="0.5 GB/s",
                latency="100 us", granularity="4 KiB", parallelism=4, source="test")
    ssd = SSD(tier)
    assert ssd.service_time_s(4096, 1) == pytest.approx(100e-6)       # latency bound
    assert ssd.service_time_s(2**20, 1) == pytest.approx(2**20 / 1e9)  # bandwidth bound
    assert ssd.service_time_s(2**20, 1, write=True) == pytest.approx(2**20 / 0.5e9)
    assert ssd.rounded_bytes(1) == 4096 and ssd.rounded_bytes(4097) == 8192
    # without a curve the channel is a pipe: latency first, then read_bw
    assert not ssd.has_curve and ssd.channel_latency_s == pytest.approx(100e-6)
    assert ssd.channel_bandwidth_fn(2**20)(3) == pytest.approx(1e9)


def test_writes_use_the_write_bandwidth():
    tier = Tier(name="disk", kind="ssd", capacity="1 TB", read_bw="2 GB/s", write_bw="1 GB/s",
                latency="10 us", granularity="4 KiB", parallelism=2, source="test")
    ssd = SSD(tier)
    # depth 2: each request 2 * 1 MiB / bw; 4 rounds each
    assert ssd.batch_time_s(8, 2**20, write=True) == pytest.approx(4 * 2 * 2**20 / 1e9)
    assert ssd.batch_time_s(8, 2**20) == pytest.approx(4 * 2 * 2**20 / 2e9)
    assert ssd.channel(2**20, write=True).direction == "write"


@pytest.mark.parametrize("kw", [{"queue_depth": 0}, {"queue_depth": True}, {"devices": 0}])
def test_bad_arguments(flash, kw):
    with pytest.raises(ConfigError, match=next(iter(kw))):
        SSD(flash, **kw)
