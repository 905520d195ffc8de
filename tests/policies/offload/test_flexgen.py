"""The flexgen placement policy: fractions validated, registered, shown in repr."""
import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create, describe, names


def test_defaults_and_mapping_form():
    p = create("offload", "flexgen")
    assert p.fractions() == {"weights": (1.0, 0.0, 0.0), "kv": (1.0, 0.0, 0.0),
                             "activations": (1.0, 0.0, 0.0)}
    q = create("offload", {"name": "flexgen", "weights": {"cpu": 0.75, "disk": 0.25},
                           "num_gpu_batches": 4})
    assert q.weights == (0.0, 0.75, 0.25) and q.num_gpu_batches == 4
    q.check()
    assert "weights=(0, 0.75, 0.25)" in repr(q)


@pytest.mark.parametrize("spec, match", [
    ({"weights": [0.5, 0.4, 0]}, "sum to 1"),
    ({"kv": [1.5, -0.5, 0]}, r"\[0, 1\]"),
    ({"kv": [1, 0]}, "three fractions"),
    ({"activations": {"gpu": 1, "tpu": 0}}, "unknown device"),
    ({"num_gpu_batches": 0}, "num_gpu_batches"),
    ({"placement": 1}, "no parameter"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        create("offload", {"name": "flexgen", **spec})


def test_registered_with_paper():
    assert "flexgen" in names("offload")
    row = next(r for r in describe() if r["kind"] == "offload" and r["name"] == "flexgen")
    assert row["paper"].startswith("FlexGen: High-Throughput Generative Inference")
