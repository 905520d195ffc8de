"""The CUDA kernels give the CPU kernels' numbers under the CUDA simulator (tiny sizes).

``NUMBA_ENABLE_CUDASIM`` is read when numba starts, and other tests import numba
first, so the check runs in a fresh interpreter with the variable set.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    try:
        from numba import cuda
        from memsim.validate.kernels import cuda_attention as ca
    except Exception as e:                      # the simulator is part of numba; report why not
        print(json.dumps({"skip": f"numba.cuda simulator unavailable: {e!r}"}))
        raise SystemExit(0)
    from memsim.validate.kernels import attention_tiled as at, paged_decode as pd
    rng = np.random.default_rng(3)
    out = {"ready": ca.cuda_ready(), "tiled": []}
    for n, d, br, bc in [(10, 8, 4, 3), (16, 4, 8, 8), (7, 4, 8, 2)]:
        q, k, v = (rng.standard_normal((n, d)).astype(np.float32) for _ in range(3))
        o_gpu, c_gpu = ca.attention_tiled_cuda(q, k, v, br, bc)
        o_cpu, c_cpu = at.attention_tiled_counted(q, k, v, br, bc)
        o_ref, c_ref = ca.attention_tiled_cuda_ref(q, k, v, br, bc)
        out["tiled"].append({"max_diff": float(abs(o_gpu - o_cpu).max()),
                             "ref_diff": float(abs(o_ref - o_cpu).max()),
                             "gpu": [int(x) for x in c_gpu], "cpu": [int(x) for x in c_cpu]})
    h, n, d, bt = 2, 19, 8, 4
    q = rng.standard_normal((h, d)).astype(np.float32)
    k, v = (rng.standard_normal((h, n, d)).astype(np.float32) for _ in range(2))
    kp, vp, tab = pd.make_paged(k, v, bt, rng, spare_blocks=2)
    out["gather_diff"] = float(abs(ca.paged_gather_cuda(kp, tab, n) - ca.paged_gather_cuda_ref(kp, tab, n)).max())
    out["gather_vs_contiguous"] = float(abs(ca.paged_gather_cuda(kp, tab, n) - k).max())
    out["decode_diff"] = float(abs(ca.paged_decode_cuda(q, kp, vp, tab, n, threads=4)
                                   - pd.paged_decode(q, kp, vp, tab, n)).max())

    # the --cuda measuring path end to end, on tiny cases (simulator timings are zero)
    import sys, warnings
    import pandas as pd_
    from memsim.validate import gpu
    warnings.simplefilter("ignore")
    gpu.gpu_cases = lambda quick: [
        ("attention_tiled", {"n": 12, "d": 4, "block_rows": 4, "block_cols": 4}),
        ("paged_gather", {"heads": 2, "n": 16, "d": 4, "block_tokens": 4}),
        ("paged_decode", {"heads": 2, "n": 16, "d": 4, "block_tokens": 4})]
    path = gpu.append_measurements(gpu.measure(quick=True, repeats=2), __import__("pathlib").Path(sys.argv[1]))
    back = pd_.read_csv(path)
    out["measured"] = {"file": path.name, "kernels": list(back["kernel"]),
                       "elems": int(back["measured_elems"].iloc[0]),
                       "columns": list(back.columns)}
    print(json.dumps(out))
""")


def test_cuda_kernels_match_cpu_kernels_under_simulator(tmp_path):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=os.getcwd())
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in res:
        pytest.skip(res["skip"])
    assert res["ready"] is True
    for case in res["tiled"]:
        assert case["gpu"] == case["cpu"]              # exact element counts
        assert case["max_diff"] < 1e-5 and case["ref_diff"] < 1e-5
    assert res["gather_diff"] == 0.0 and res["gather_vs_contiguous"] == 0.0
    assert res["decode_diff"] < 1e-5
    from memsim.validate.gpu import MEASUREMENT_COLUMNS
    from memsim.validate.kernels.attention_tiled import tile_loads
    m = res["measured"]
    assert m["file"].startswith("cuda-simulator-") and m["columns"] == MEASUREMENT_COLUMNS
    assert m["kernels"] == ["attention_tiled", "paged_gather", "paged_decode"]
    assert m["elems"] == sum(tile_loads(12, 4, 4))
