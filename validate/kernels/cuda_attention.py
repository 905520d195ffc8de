"""Tiled attention, paged gather and paged decode in Numba CUDA (shared memory as SRAM).

The tiled kernel counts its tile loads like the CPU build; the CPU kernels are
the twins (``*_ref``).  Everything also runs under ``NUMBA_ENABLE_CUDASIM=1``
(slowly: tiny sizes only).
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32

from .attention_tiled import attention_tiled_ref
from .paged_decode import gather_paged, paged_decode_ref

__all__ = ["attention_tiled_cuda", "paged_gather_cuda", "paged_decode_cuda", "cuda_ready",
           "simulator_active", "device_info",
           "attention_tiled_cuda_ref", "paged_gather_cuda_ref", "paged_decode_cuda_ref"]

_KERNELS: dict = {}


def cuda_ready() -> bool:
    """True when a GPU (or the CUDA simulator) can run these kernels."""
    try:
        return bool(cuda.is_available())
    except Exception:        # a broken driver install reports through many exception types
        return False


def simulator_active() -> bool:
    """True when ``NUMBA_ENABLE_CUDASIM=1``: kernels run on the CPU, timings are meaningless."""
    from numba.core import config
    return bool(config.ENABLE_CUDASIM)


def device_info() -> dict:
    """Name, compute capability, driver, clocks (Hz) and Numba version of the current GPU."""
    from numba import __version__ as numba_version
    dev = cuda.current_context().device
    name = getattr(dev, "name", "CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    try:
        from numba.cuda.cudadrv.driver import driver
        drv = ".".join(str(x) for x in driver.get_version())
    except Exception:       # the simulator and other numba-cuda layouts have no driver object
        drv = ""

    def attr(a):            # CUDA reports clocks in kHz
        try:
            return int(getattr(dev, a, 0) or 0) * 1000
        except Exception:   # attribute not exposed by this driver / simulator
            return 0
    return {"device": name, "compute_capability": ".".join(map(str, dev.compute_capability)),
            "driver": drv, "sm_clock_hz": attr("CLOCK_RATE"), "mem_clock_hz": attr("MEMORY_CLOCK_RATE"),
            "numba_version": numba_version}


def _tiled_kernel(br: int, bc: int, d: int):
    key = ("tiled", br, bc, d)
    if key in _KERNELS:
        return _KERNELS[key]

    @cuda.jit
    def kernel(q, k, v, out, lse, counts):
        kt = cuda.shared.array((bc, d), float32)
        vt = cuda.shared.array((bc, d), float32)
        qr = cuda.local.array(d, float32)
        acc = cuda.local.array(d, float32)
        sc = cuda.local.array(bc, float32)
        n = q.shape[0]
        tid = cuda.threadIdx.x
        i0 = cuda.blockIdx.x * br
        row = i0 + tid
        valid = row < n
        scale = float32(1.0 / math.sqrt(d))
        m = float32(-math.inf)
        l = float32(0.0)
        if valid:
            for x in range(d):
                qr[x] = q[row, x]
                acc[x] = 0.0
        for j0 in range(0, n, bc):
            cols = min(bc, n - j0)
            for e in range(tid, cols * d, br):          # cooperative tile load
                c = e // d
                x = e - c * d
                kt[c, x] = k[j0 + c, x]
                vt[c, x] = v[j0 + c, x]
            cuda.syncthreads()
            if valid:
                mx = m
                for c in range(cols):
                    dot = float32(0.0)
                    for x in range(d):
                        dot += qr[x] * kt[c, x]
                    dot *= scale
                    sc[c] = dot
                    mx = max(mx, dot)
                alpha = math.exp(m - mx)
                tot = float32(0.0)
                for c in range(cols):
                    p = math.exp(sc[c] - mx)
                    sc[c] = p
                    tot += p
                l = l * alpha + tot
                m = mx
                for x in range(d):
                    acc[x] *= alpha
                for c in range(cols):
                    p = sc[c]
                    for x in range(d):
                        acc[x] += p * vt[c, x]
            cuda.syncthreads()
        if valid:
            for x in range(d):
                out[row, x] = acc[x] / l
            lse[row] = m + math.log(l)
        if tid == 0:
            rows = min(br, n - i0)
            cuda.atomic.add(counts, 0, rows * d + 2 * n * d)
            cuda.atomic.add(counts, 1, rows * d + rows)

    _KERNELS[key] = kernel
    return kernel


def attention_tiled_cuda(q, k, v, block_rows: int, block_cols: int, *, timer=None):
    """(out, counts) on the GPU: one thread block per Q block, one thread per query
    row, K/V tiles loaded cooperatively into shared memory (FlashAttention-2 order).
    ``timer`` (a list) receives the kernel's seconds, measured with CUDA events."""
    n, d = q.shape
    kernel = _tiled_kernel(int(block_rows), int(block_cols), int(d))
    dq, dk, dv = (cuda.to_device(np.ascontiguousarray(x, np.float32)) for x in (q, k, v))
    dout = cuda.device_array((n, d), np.float32)
    dlse = cuda.device_array(n, np.float32)
    dcounts = cuda.to_device(np.zeros(2, np.int64))
    grid = -(-n // block_rows)
    _launch(kernel, grid, block_rows, (dq, dk, dv, dout, dlse, dcounts), timer)
    return dout.copy_to_host(), dcounts.copy_to_host()


def _launch(kernel, grid, block, args, timer):
    if timer is None:
        kernel[grid, block](*args)
        cuda.synchronize()
        return
    start, stop = cuda.event(), cuda.event()
    start.record()
    kernel[grid, block](*args)
    stop.record()
    stop.synchronize()
    timer.append(start.elapsed_time(stop) / 1e3)          # ms -> s


@cuda.jit
def _gather(pool, table, out):
    heads, n, d = out.shape
    bt = pool.shape[2]
    i = cuda.grid(1)
    if i < heads * n * d:
        h = i // (n * d)
        t = (i // d) % n
        x = i % d
        out[h, t, x] = pool[table[t // bt], h, t % bt, x]


def paged_gather_cuda(pool, table, n: int, *, timer=None) -> np.ndarray:
    """Contiguous (heads, n, d) rebuilt from a (blocks, heads, block_tokens, d) pool."""
    _, heads, _, d = pool.shape
    dpool, dtab = cuda.to_device(np.ascontiguousarray(pool)), cuda.to_device(table)
    dout = cuda.device_array((heads, n, d), pool.dtype)
    threads = 128
    _launch(_gather, -(-heads * n * d // threads), threads, (dpool, dtab, dout), timer)
    return dout.copy_to_host()


@cuda.jit
def _paged_decode(q, k_pool, v_pool, table, scores, out):
    h = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nth = cuda.blockDim.x
    d = q.shape[1]
    bt = k_pool.shape[2]
    n = scores.shape[1]
    stat = cuda.shared.array(2, float32)
    scale = float32(1.0 / math.sqrt(d))
    for t in range(tid, n, nth):                        # scores, one token per thread
        pb = table[t // bt]
        dot = float32(0.0)
        for x in range(d):
            dot += q[h, x] * k_pool[pb, h, t % bt, x]
        scores[h, t] = dot * scale
    cuda.syncthreads()
    if tid == 0:                                        # softmax statistics
        mx = float32(-math.inf)
        for t in range(n):
            mx = max(mx, scores[h, t])
        tot = float32(0.0)
        for t in range(n):
            tot += math.exp(scores[h, t] - mx)
        stat[0] = mx
        stat[1] = tot
    cuda.syncthreads()
    for x in range(tid, d, nth):                        # P V, one feature per thread
        acc = float32(0.0)
        for t in range(n):
            acc += math.exp(scores[h, t] - stat[0]) * v_pool[table[t // bt], h, t % bt, x]
        out[h, x] = acc / stat[1]


def paged_decode_cuda(q, k_pool, v_pool, table, n: int, *, threads: int = 32, timer=None):
    """Decode attention over a paged pool on the GPU: (heads, d) output."""
    heads = q.shape[0]
    args = [cuda.to_device(np.ascontiguousarray(x)) for x in (q, k_pool, v_pool, table)]
    dscores = cuda.device_array((heads, n), np.float32)
    dout = cuda.device_array(q.shape, np.float32)
    _launch(_paged_decode, heads, threads, (*args, dscores, dout), timer)
    return dout.copy_to_host()


def attention_tiled_cuda_ref(q, k, v, block_rows: int, block_cols: int):
    """The CPU twin: the tiled kernel's loops in plain Python, with their counts."""
    return attention_tiled_ref(q, k, v, block_rows, block_cols)


def paged_gather_cuda_ref(pool, table, n: int):
    """The CPU twin of ``paged_gather_cuda`` (NumPy fancy indexing)."""
    return gather_paged(pool, table, n)


def paged_decode_cuda_ref(q, k_pool, v_pool, table, n: int):
    """The CPU twin of ``paged_decode_cuda`` (the paged kernel's loops in Python)."""
    return paged_decode_ref(q, k_pool, v_pool, table, n)
