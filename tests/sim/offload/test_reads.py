"""Read planning: adjacent neurons coalesce into one read, split at the size cap."""
import numpy as np

from memsim.sim.offload._reads import plan_reads


def test_runs_coalesce_and_split():
    load = np.array([[1, 1, 0, 1, 1, 1, 1, 1, 0, 0],
                     [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]], dtype=bool)
    layer, size, count = plan_reads(load, unit_bytes=10, reads_per_run=2, max_read_bytes=30)
    # layer 0: runs of 2 and 5 -> reads of 20, 30, 20 units-bytes; x2 matrices
    rows = sorted(zip(layer.tolist(), size.tolist(), count.tolist()))
    assert rows == [(0, 20, 4), (0, 30, 2), (1, 10, 2)]
    assert (size * count).sum() == load.sum() * 10 * 2


def test_empty_and_full():
    z = plan_reads(np.zeros((3, 4), bool), unit_bytes=8, reads_per_run=1, max_read_bytes=64)
    assert all(len(a) == 0 for a in z)
    layer, size, count = plan_reads(np.ones((3, 4), bool), unit_bytes=8, reads_per_run=1,
                                    max_read_bytes=2**20)
    assert layer.tolist() == [0, 1, 2] and size.tolist() == [32] * 3 and count.tolist() == [1] * 3
