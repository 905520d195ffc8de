"""FlexGen-style offloaded batch inference: throughput of a placement, and the best one.

One GPU, its host DRAM and a disk.  Per layer, loading the off-GPU weights, loading
and storing KV cache and activations, and compute all overlap, so a layer takes the
largest of them (PCIe each way, disk, compute).  Every term and memory total is
linear in the nine placement fractions, so the best placement is a linear program.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from memsim.ground.errors import ConfigError, SimulationError
from memsim.policies.offload import DEVICES, TENSORS, FlexGen
from memsim.sim.ssd import LARGE_REQUEST_BYTES, SSD

from .flash import compute_dtype

__all__ = ["OffloadProblem", "offload_tiers", "build_problem", "evaluate", "evaluate_many", "solve_lp",
           "grid_placements", "search", "placement_vector"]

LARGE_READ_BYTES = LARGE_REQUEST_BYTES
"""Request size used for the disk's sequential bandwidth (a layer's tensors are large)."""


@dataclass
class OffloadProblem:
    """The linear cost model of one (platform, model, batch, lengths, GPU batches) setting.

    Each ``*_terms`` row is seconds per layer as ``coef @ x + const`` for the
    placement vector ``x = [wg, wc, wd, cg, cc, cd, hg, hc, hd]``; ``mem`` rows give
    bytes on GPU, CPU and disk the same way, against ``caps_bytes``.
    """

    layers: int
    batch: int
    gen_len: int
    num_gpu_batches: int
    term_names: tuple[str, ...]
    prefill_coef: np.ndarray
    prefill_const: np.ndarray
    decode_coef: np.ndarray
    decode_const: np.ndarray
    mem_coef: np.ndarray
    mem_const: np.ndarray
    caps_bytes: np.ndarray
    info: dict = field(default_factory=dict)


def placement_vector(policy: FlexGen) -> np.ndarray:
    """The nine fractions of a ``flexgen`` policy, weights then KV then activations."""
    f = policy.fractions()
    return np.array([v for t in TENSORS for v in f[t]], dtype=float)


def offload_tiers(platform):
    """The (GPU, CPU, disk) tiers of ``platform`` the placement splits over (hbm, dram, ssd/flash)."""
    gpu = platform.tier_of_kind("hbm")
    cpu = platform.tier_of_kind("dram")
    disk = platform.tier_of_kind("ssd") or platform.tier_of_kind("flash")
    missing = [k for k, t in (("hbm (GPU memory)", gpu), ("dram (CPU memory)", cpu),
                              ("ssd or flash (disk)", disk)) if t is None]
    if missing:
        raise ConfigError(f"platform {platform.name} has no {', '.join(missing)} tier; "
                          "offload needs GPU, CPU and disk tiers", field="tiers")
    return gpu, cpu, disk


def _path_bw(platform, a, b) -> float:
    return min((lk.bandwidth for lk in platform.path(a, b)), default=float("inf"))


def build_problem(*, platform, model, batch: int, prompt_len: int, gen_len: int,
                  num_gpu_batches: int = 1, gpu_mem_bytes: int | None = None,
                  cpu_mem_bytes: int | None = None, disk_bytes: int | None = None) -> OffloadProblem:
    """Price one GPU of ``platform`` running ``model`` on ``batch`` sequences.

    Memory limits default to one GPU's HBM, the host's DRAM and one disk.  Decode
    steps are priced at the mean context ``prompt_len + gen_len / 2``.
    """
    for name, v in (("batch", batch), ("prompt_len", prompt_len), ("gen_len", gen_len),
                    ("num_gpu_batches", num_gpu_batches)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name}={v!r} must be an int >= 1", field=name)
    if batch % num_gpu_batches:
        raise ConfigError(f"batch={batch} is not a multiple of num_gpu_batches={num_gpu_batches}",
                          field="num_gpu_batches")
    gpu, cpu, disk = offload_tiers(platform)
    pcie = _path_bw(platform, gpu.name, cpu.name)
    disk_link = _path_bw(platform, cpu.name, disk.name)
    drive = SSD(disk)                  # one drive, at its full queue depth
    rd = min(drive.bandwidth_bytes_per_s(LARGE_READ_BYTES, drive.queue_depth), disk_link)
    wr = min(drive.bandwidth_bytes_per_s(LARGE_READ_BYTES, drive.queue_depth, write=True), disk_link)
    c = platform.compute
    flop_rate = c.peak(compute_dtype(platform, model)) * c.efficiency.gemm
    hbm_bw = gpu.read_bw * c.efficiency.memory

    L, s, n, b = model.layers, prompt_len, gen_len, batch
    gbs = b // num_gpu_batches
    db = model.dtype_bytes
    wl = model.weight_bytes / L
    kvt = model.kv_bytes_per_token / L
    ctx = s + n / 2
    a_dec, a_pre = b * model.hidden * db, b * s * model.hidden * db
    kv_read, kv_new_dec, kv_new_pre = b * ctx * kvt, b * kvt, b * s * kvt
    kv_total = b * (s + n) * model.kv_bytes_per_token
    kv_layer = b * (s + n) * kvt
    lin = model.linear_flops_per_token / L
    attn = model.attn_flops_per_token_ctx / L
    launch = num_gpu_batches * c.iteration_overhead / L

    def roofline(flops, nbytes):
        return max(flops / flop_rate, nbytes / hbm_bw) + launch

    # each GPU batch reads the layer's weights from HBM again (zig-zag: PCIe once per block)
    k = num_gpu_batches
    comp_pre = roofline(b * (s * lin + attn * s * (s + 1) / 2), k * wl + kv_new_pre + 2 * a_pre)
    comp_dec = roofline(b * (lin + attn * ctx), k * wl + kv_read + 2 * a_dec)
    z = 0.0
    pre = np.array([
        [z, wl, wl, z, z, z, z, a_pre, a_pre],                          # CPU -> GPU
        [z, z, z, z, kv_new_pre, kv_new_pre, z, a_pre, a_pre],          # GPU -> CPU
        [z, z, wl / rd * pcie, z, z, kv_new_pre / wr * pcie, z, z,      # disk (shared)
         (a_pre / rd + a_pre / wr) * pcie],
        [z] * 9,                                                        # compute
    ]) / pcie
    dec = np.array([
        [z, wl, wl, z, kv_read, kv_read, z, a_dec, a_dec],
        [z, z, z, z, kv_new_dec, kv_new_dec, z, a_dec, a_dec],
        [z, z, wl / rd * pcie, z, z, (kv_read / rd + kv_new_dec / wr) * pcie, z, z,
         (a_dec / rd + a_dec / wr) * pcie],
        [z] * 9,
    ]) / pcie
    W = float(model.weight_bytes)
    workspace = gbs * (model.heads * s * s + s * model.ffn) * db
    mem = np.array([
        [W, 2 * wl, 2 * wl, kv_total, 2 * kv_layer, 2 * kv_layer, a_pre, 2 * a_pre, 2 * a_pre],
        [z, W, 2 * wl, z, kv_total, 2 * kv_layer, z, a_pre, 2 * a_pre],
        [z, z, W, z, z, kv_total, z, z, a_pre],
    ])
    caps = np.array([gpu.capacity if gpu_mem_bytes is None else gpu_mem_bytes,
                     cpu.capacity_total if cpu_mem_bytes is None else cpu_mem_bytes,
                     disk.capacity if disk_bytes is None else disk_bytes], dtype=float)
    return OffloadProblem(
        layers=L, batch=b, gen_len=n, num_gpu_batches=num_gpu_batches,
        term_names=("cpu_to_gpu", "gpu_to_cpu", "disk", "compute"),
        prefill_coef=pre, prefill_const=np.array([0, 0, 0, comp_pre]),
        decode_coef=dec, decode_const=np.array([0, 0, 0, comp_dec]),
        mem_coef=mem, mem_const=np.array([workspace, 0.0, 0.0]), caps_bytes=caps,
        info={"platform": platform.name, "model": getattr(model, "name", "?"),
              "prompt_len": s, "gen_len": n, "gpu_batch": gbs,
              "pcie_bytes_per_s": pcie, "disk_read_bytes_per_s": rd,
              "disk_write_bytes_per_s": wr, "gpu_tier": gpu.name, "cpu_tier": cpu.name,
              "disk_tier": disk.name})


def evaluate_many(problem: OffloadProblem, X: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised ``evaluate`` over rows of ``X`` (placements ``[m, 9]``)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    pre = X @ problem.prefill_coef.T + problem.prefill_const
    dec = X @ problem.decode_coef.T + problem.decode_const
    t_pre, t_dec = pre.max(axis=1), dec.max(axis=1)
    total = problem.layers * (t_pre + (problem.gen_len - 1) * t_dec)
    mem = X @ problem.mem_coef.T + problem.mem_const
    fits = (mem <= problem.caps_bytes * (1 + 1e-9)).all(axis=1)
    return {"total_s": total, "prefill_layer_s": t_pre, "decode_layer_s": t_dec,
            "throughput_tokens_per_s": problem.batch * problem.gen_len / total,
            "mem_bytes": mem, "fits": fits,
            "prefill_bound": pre.argmax(axis=1), "decode_bound": dec.argmax(axis=1)}


def evaluate(problem: OffloadProblem, policy_or_x) -> dict:
    """Throughput, time split and memory of one placement (a ``flexgen`` policy or 9 fractions)."""
    x = placement_vector(policy_or_x) if isinstance(policy_or_x, FlexGen) else \
        np.asarray(policy_or_x, dtype=float)
    r = evaluate_many(problem, x[None, :])
    mem = r["mem_bytes"][0]
    return {
        "throughput_tokens_per_s": float(r["throughput_tokens_per_s"][0]),
        "total_s": float(r["total_s"][0]),
        "prefill_s": float(problem.layers * r["prefill_layer_s"][0]),
        "decode_s": float(problem.layers * (problem.gen_len - 1) * r["decode_layer_s"][0]),
        "prefill_bound": problem.term_names[int(r["prefill_bound"][0])],
        "decode_bound": problem.term_names[int(r["decode_bound"][0])],
        **{f"{d}_bytes": float(m) for d, m in zip(DEVICES, mem)},
        **{f"{d}_capacity_bytes": float(c) for d, c in zip(DEVICES, problem.caps_bytes)},
        "fits": bool(r["fits"][0]),
        "placement": {t: [float(v) for v in x[3 * i:3 * i + 3]] for i, t in enumerate(TENSORS)},
    }


def solve_lp(problem: OffloadProblem, fixed: dict | None = None) -> np.ndarray | None:
    """The placement minimising total time under the memory caps (None if none fits).

    Variables: the nine fractions, then per-layer prefill and decode times, which
    the constraints hold above every transfer and compute term.  ``fixed`` pins
    tensor classes to given ``(gpu, cpu, disk)`` fractions (serving keeps the KV
    cache and activations on the GPU: ``{"kv": (1, 0, 0), "activations": (1, 0, 0)}``).
    """
    n = problem.gen_len
    cost = np.zeros(11)
    cost[9], cost[10] = problem.layers, problem.layers * (n - 1)
    rows, rhs = [], []
    for coef, const, col in ((problem.prefill_coef, problem.prefill_const, 9),
                             (problem.decode_coef, problem.decode_const, 10)):
        for k in range(coef.shape[0]):
            row = np.zeros(11)
            row[:9], row[col] = coef[k], -1.0
            rows.append(row)
            rhs.append(-const[k])
    for k in range(3):
        row = np.zeros(11)
        row[:9] = problem.mem_coef[k]
        rows.append(row)
        rhs.append(problem.caps_bytes[k] - problem.mem_const[k])
    eq = np.zeros((3, 11))
    for i in range(3):
        eq[i, 3 * i:3 * i + 3] = 1.0
    # scale memory rows to GiB so the LP is well conditioned
    A, bvec = np.array(rows), np.array(rhs)
    scale = np.ones(len(rows))
    scale[-3:] = 2.0**-30
    A, bvec = A * scale[:, None], bvec * scale
    bounds = [(0, 1)] * 9 + [(0, None)] * 2
    for name, fracs in (fixed or {}).items():
        i = TENSORS.index(name)
        for j, v in enumerate(fracs):
            bounds[3 * i + j] = (float(v), float(v))
    res = linprog(cost, A_ub=A, b_ub=bvec, A_eq=eq, b_eq=np.ones(3), bounds=bounds,
                  method="highs")
    if res.status != 0:
        return None
    # Ties: among placements within 1e-9 of the best time, keep data nearest the GPU
    # (0 per byte on GPU, 1 on CPU, 2 on disk), so the answer does not depend on the
    # LP solver's choice of vertex.
    sizes = problem.mem_coef[0, [0, 0, 0, 3, 3, 3, 6, 6, 6]]        # bytes of each tensor class
    tie = np.zeros(11)
    tie[:9] = np.tile([0.0, 1.0, 2.0], 3) * sizes / sizes.max()
    limit = np.concatenate([A, cost[None, :]]), np.concatenate([bvec, [res.fun * (1 + 1e-9)]])
    res2 = linprog(tie, A_ub=limit[0], b_ub=limit[1], A_eq=eq, b_eq=np.ones(3), bounds=bounds,
                   method="highs")
    if res2.status == 0:
        res = res2
    x = np.clip(res.x[:9], 0.0, 1.0) + 0.0
    for i in range(3):
        x[3 * i:3 * i + 3] /= x[3 * i:3 * i + 3].sum()
    return x


def grid_placements(steps: int) -> np.ndarray:
    """Every placement whose fractions are multiples of ``1/steps`` (``[m, 9]``)."""
    tri = np.array([(i, j, steps - i - j) for i in range(steps + 1)
                    for j in range(steps + 1 - i)], dtype=float) / steps
    idx = np.stack(np.meshgrid(*[np.arange(len(tri))] * 3, indexing="ij"), -1).reshape(-1, 3)
    return np.concatenate([tri[idx[:, 0]], tri[idx[:, 1]], tri[idx[:, 2]]], axis=1)


def search(*, platform, model, batch: int, prompt_len: int, gen_len: int,
           num_gpu_batches: tuple[int, ...] | None = None, fixed: dict | None = None,
           **caps) -> tuple[FlexGen, dict]:
    """The best ``flexgen`` placement: an LP per GPU-batch count, the fastest one kept.

    ``num_gpu_batches`` defaults to the powers of two dividing ``batch`` (up to 64).
    Raises SimulationError when no placement fits in memory.
    """
    if num_gpu_batches is None:
        num_gpu_batches = tuple(k for k in (1, 2, 4, 8, 16, 32, 64)
                                if isinstance(batch, int) and k <= batch and batch % k == 0) or (1,)
    best = None
    for k in num_gpu_batches:
        prob = build_problem(platform=platform, model=model, batch=batch, prompt_len=prompt_len,
                             gen_len=gen_len, num_gpu_batches=k, **caps)
        x = solve_lp(prob, fixed)
        if x is None:
            continue
        snapped = np.where(x < 1e-6, 0.0, x)        # drop solver dust if it changes nothing
        for i in range(3):
            snapped[3 * i:3 * i + 3] /= snapped[3 * i:3 * i + 3].sum()
        ev = evaluate(prob, x)
        ev_s = evaluate(prob, snapped)
        if ev_s["fits"] and ev_s["total_s"] <= ev["total_s"] * (1 + 1e-9):
            x, ev = snapped, ev_s
        if best is None or ev["throughput_tokens_per_s"] > best[1]["throughput_tokens_per_s"] \
                * (1 + 1e-9):
            best = (x, ev, k)
    if best is None:
        prob = build_problem(platform=platform, model=model, batch=batch, prompt_len=prompt_len,
                             gen_len=gen_len, **caps)
        gib = ", ".join(f"{d} {c / 2**30:.4g} GiB" for d, c in zip(DEVICES, prob.caps_bytes))
        raise SimulationError(f"no placement of {getattr(model, 'name', 'the model')} with batch "
                              f"{batch} fits in memory ({gib})")
    x, ev, k = best
    pol = FlexGen(weights=tuple(x[0:3]), kv=tuple(x[3:6]), activations=tuple(x[6:9]),
                  num_gpu_batches=k)
    return pol, {**ev, "num_gpu_batches": k}
