"""Each compiled kernel agrees with its Python/NumPy twin on small inputs."""
from __future__ import annotations

import numpy as np
import pytest

from memsim.validate.kernels import (
    attention_naive,
    attention_tiled,
    decode_attention,
    lru_replay,
    matmul_tiled,
    paged_decode,
    pointer_chase,
    stream,
    stream_dot,
)
from memsim.validate.kernels.attention_naive import attention_ref


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_stream_sum_matches_numpy(rng):
    a = rng.standard_normal(1001).astype(np.float32)
    assert stream.stream_sum(a, 3) == pytest.approx(stream.stream_sum_ref(a, 3), rel=1e-4, abs=1e-3)


def test_stream_dot_matches_numpy(rng):
    a = rng.standard_normal((17, 24)).astype(np.float32)
    q = rng.standard_normal(24).astype(np.float32)
    np.testing.assert_allclose(stream_dot.stream_dot(a, q, 2, 3), stream_dot.stream_dot_ref(a, q, 2, 3),
                               rtol=1e-4, atol=1e-4)


def test_pointer_chase_walks_one_cycle(rng):
    nxt = pointer_chase.make_cycle(800, rng)
    lap = 800 // 8
    assert pointer_chase.chase(nxt, 0, lap) == 0                  # one lap returns to the start
    visited = {0}
    j = 0
    for _ in range(lap - 1):
        j = int(nxt[j])
        visited.add(j)
    assert len(visited) == lap and all(v % 8 == 0 for v in visited)
    assert pointer_chase.chase(nxt, 16, 37) == pointer_chase.chase_ref(nxt, 16, 37)


@pytest.mark.parametrize("n,tile", [(16, 4), (33, 8), (20, 64)])
def test_matmul_tiled(rng, n, tile):
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(matmul_tiled.matmul_tiled(a, b, tile), matmul_tiled.matmul_tiled_ref(a, b, tile),
                               rtol=1e-4, atol=1e-4)
    assert matmul_tiled.matmul_loads(n, tile) == 2 * n * n * -(-n // tile)


def test_naive_attention_compiled_and_python_agree(rng):
    q, k, v = (rng.standard_normal((19, 8)).astype(np.float32) for _ in range(3))
    ref = attention_ref(q, k, v)
    np.testing.assert_allclose(attention_naive.attention_naive(q, k, v), ref, atol=1e-5)
    np.testing.assert_allclose(attention_naive.attention_naive_ref(q, k, v), ref, atol=1e-5)


@pytest.mark.parametrize("n,d,br,bc", [(16, 8, 4, 4), (37, 8, 8, 5), (10, 4, 16, 3)])
def test_tiled_attention_and_its_counts(rng, n, d, br, bc):
    q, k, v = (rng.standard_normal((n, d)).astype(np.float32) for _ in range(3))
    ref = attention_ref(q, k, v)
    np.testing.assert_allclose(attention_tiled.attention_tiled(q, k, v, br, bc), ref, atol=1e-5)
    out, counts = attention_tiled.attention_tiled_counted(q, k, v, br, bc)
    out_py, counts_py = attention_tiled.attention_tiled_ref(q, k, v, br, bc)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(out_py, ref, atol=1e-5)
    assert tuple(counts) == tuple(counts_py) == attention_tiled.tile_loads(n, d, br)


def test_tiled_attention_rejects_zero_tiles(rng):
    q = rng.standard_normal((4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="block_rows=0"):
        attention_tiled.attention_tiled(q, q, q, 0, 2)


def test_decode_and_paged_decode(rng):
    h, n, d = 3, 50, 16
    q = rng.standard_normal((h, d)).astype(np.float32)
    k, v = (rng.standard_normal((h, n, d)).astype(np.float32) for _ in range(2))
    ref = decode_attention.decode_attention_ref(q, k, v)
    np.testing.assert_allclose(decode_attention.decode_attention(q, k, v), ref, atol=1e-5)
    for bt in (4, 16, 64):
        kp, vp, table = paged_decode.make_paged(k, v, bt, rng, spare_blocks=2)
        np.testing.assert_array_equal(paged_decode.gather_paged(kp, table, n), k)
        np.testing.assert_allclose(paged_decode.paged_decode(q, kp, vp, table, n), ref, atol=1e-5)
        np.testing.assert_allclose(paged_decode.paged_decode_ref(q, kp, vp, table, n), ref, atol=1e-5)


@pytest.mark.parametrize("capacity", [1, 3, 40, 500])
def test_lru_replay_matches_ordered_dict(rng, capacity):
    keys = (rng.zipf(1.3, 3000) % 400).astype(np.int64)
    expected = lru_replay.lru_replay_ref(keys, capacity)
    assert lru_replay.lru_replay(keys, capacity) == expected
    assert lru_replay._local(keys, capacity) == expected


def test_lru_hand_worked():
    keys = np.array([1, 2, 1, 3, 2, 4, 1, 4], np.int64)
    # capacity 2: 1m 2m 1h 3m(evict 2) 2m(evict 1) 4m(evict 3) 1m(evict 2) 4h
    assert lru_replay.lru_replay(keys, 2) == lru_replay.lru_replay_ref(keys, 2) == 2
