"""Parameters are checked at construction and shown by repr()."""
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import registry


@pytest.mark.parametrize("spec", [
    {"name": "clock", "bits": 0},
    {"name": "s3fifo", "small_fraction": 1.5},
    {"name": "s3fifo", "move_to_main_threshold": 0},
    {"name": "2q", "in_fraction": -0.1},
    {"name": "slru", "protected_fraction": 2},
    {"name": "ttl", "ttl_s": -1},
    {"name": "advice", "error_rate": 1.2},
    {"name": "lru", "frobnicate": 1},
])
def test_bad_parameters_raise_config_error(spec):
    with pytest.raises(ConfigError):
        registry.create("eviction", spec, capacity=10)


def test_capacity_must_be_positive():
    with pytest.raises(ConfigError, match="capacity"):
        registry.create("eviction", "lru", capacity=0)


def test_s3fifo_queue_sizes_follow_libcachesim_defaults():
    p = registry.create("eviction", "s3fifo", capacity=1000)
    assert (p.small_capacity, p.main_capacity, p.ghost_capacity) == (100, 900, 900)
    assert "move_to_main_threshold=2" in repr(p)


def test_clock_bits_set_the_counter_ceiling():
    p = registry.create("eviction", {"name": "clock", "bits": 2}, capacity=4)
    p.on_insert("a", 1, 0.0)
    for t in range(5):
        p.on_hit("a", float(t))
    assert p._order["a"] == 3
