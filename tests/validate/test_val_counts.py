"""The instrumented tiled kernel's tile loads equal the kernel simulator's count exactly."""
from __future__ import annotations

import numpy as np
import pytest

from memsim.sim.kernel import attention_io
from memsim.validate.kernels.attention_tiled import attention_tiled_counted, tile_buffer_elems
from memsim.validate.predict import attention_counts, closed_form_counts

CASES = [(16, 8, 4, 4), (37, 8, 8, 5), (64, 16, 16, 32), (100, 4, 7, 13), (9, 4, 16, 16)]


@pytest.mark.parametrize("n,d,br,bc", CASES)
def test_counts_equal_simulator(n, d, br, bc):
    q, k, v = (np.random.default_rng(n).standard_normal((n, d)).astype(np.float32) for _ in range(3))
    _, counts = attention_tiled_counted(q, k, v, br, bc)
    r = attention_io("flash2", n=n, d=d, dtype_bytes=4, block_rows=br, block_cols=bc,
                                sram_elems=tile_buffer_elems(d, br, bc) + br)
    assert (int(counts[0]), int(counts[1])) == (r.reads, r.writes)


@pytest.mark.parametrize("n,d,br,bc", CASES)
def test_closed_form_equals_simulator(n, d, br, bc):
    sram = tile_buffer_elems(d, br, bc) + br
    via_sim = attention_counts("flash2", n=n, d=d, block_rows=br, block_cols=bc, sram_elems=sram)
    closed = closed_form_counts("flash2", n=n, d=d, block_rows=br, block_cols=bc)
    assert closed[3] == "closed form" and via_sim[3] == "memsim.sim.kernel.attention_io"
    assert closed[:2] == via_sim[:2]


@pytest.mark.parametrize("algo,bt", [("decode", 1), ("decode_paged", 16), ("decode_paged", 48)])
def test_decode_closed_forms_equal_simulator(algo, bt):
    kw = dict(n=1000, d=64, heads=4, block_cols=bt)
    via_sim = attention_counts(algo, **kw, sram_elems=2 * 64 + 2 * bt * 64 + bt + 64)
    assert closed_form_counts(algo, **kw)[:3] == via_sim[:3]
