"""The hardware file's schema: a platform is compute, tiers (nearest compute first) and links.

Each model mirrors one YAML mapping, key for key; quantities carry units and are
parsed by ``memsim.ground.units`` (bytes, seconds, bytes/s, FLOP/s inside).  Derived values
(``Compute.sram_total``, ``Tier.capacity_total``) are properties, never YAML keys.
"""
from __future__ import annotations

from collections import deque
from typing import Literal, get_args

from pydantic import Field, PrivateAttr, field_validator, model_validator

from memsim.ground.errors import ConfigError, check_fraction, check_positive
from memsim.ground.schema import StrictModel
from memsim.ground.units import Bandwidth, Duration, EnergyPerByte, FlopRate, Frequency, Size

from ._curve import Curve

__all__ = ["Platform", "Compute", "Efficiency", "Timing", "KernelParams", "Tier", "Link", "CurvePoint",
           "DTYPES", "TIER_KINDS", "KIND_RANK"]

DType = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp4"]
TierKind = Literal["sram", "hbm", "dram", "cxl", "flash", "ssd", "remote"]
DTYPES: tuple[str, ...] = get_args(DType)
TIER_KINDS: tuple[str, ...] = get_args(TierKind)
KIND_RANK = {"sram": 0, "hbm": 1, "dram": 2, "cxl": 3, "flash": 4, "ssd": 4, "remote": 5}
"""Distance from compute; tiers must be listed with non-decreasing rank."""

Count = Field(default=1, ge=1)
Source = Field(min_length=1, description="datasheet, whitepaper or measurement the numbers come from")


class Efficiency(StrictModel):
    """Achieved / peak fractions the roofline applies: GEMMs, attention, memory streams."""

    gemm: float
    attention: float
    memory: float
    source: str = ""

    @field_validator("gemm", "attention", "memory")
    @classmethod
    def _fraction(cls, v, info):
        return check_fraction(info.field_name, v, open_low=True)


CURVE_KNOTS = {
    "gemm_m_curve": (1, 16, 128, 1024, 8192), "gemm_n_curve": (16, 256, 2048, 16384),
    "gemm_k_curve": (64, 512, 4096, 32768), "attn_len_curve": (16, 128, 1024, 8192),
    "attn_group_curve": (1, 4, 16), "decode_len_curve": (16, 256, 4096, 65536),
    "decode_batch_curve": (1, 8, 64, 512), "attn_heads_curve": (1, 4, 16, 64), "attn_dim_curve": (64, 128, 256),
    "decode_heads_curve": (1, 4, 16, 64), "decode_group_curve": (1, 4, 16),
    "decode_bytes_curve": (2**20, 2**23, 2**25, 2**27, 2**30), "attn_tokens_curve": (16, 256, 4096, 65536),
    "decode_dim_curve": (64, 128, 256),
    "ar_gpus_curve": (2, 4, 8), "ar_bytes_curve": (2**16, 2**20, 2**24, 2**28), "ar_lat_curve": (2, 4, 8),
}
"""Sizes at which the analytic model's efficiency curves are given (``memsim.sim.timing.analytic``)."""


class KernelParams(StrictModel):
    """The analytic kernel model's fitted parameters (``docs/calibration.md`` gives each term).

    Times are durations with units; the rest are dimensionless fractions or element counts.
    """

    launch_s: Duration
    gemm_compute_eff: float
    gemm_tile_c: float = Field(ge=0)
    gemm_k0: float = Field(ge=0)
    gemm_act_factor: float = Field(ge=0)
    gemm_kstep_s: Duration
    gemm_max_split: float = Field(ge=1)
    mem_eff: float
    mem_fill_s: Duration
    overlap_q: float = Field(ge=1)
    attn_compute_eff: float
    attn_d0: float = Field(ge=0)
    attn_launch_s: Duration
    decode_mem_eff: float
    decode_fill_s: Duration
    attn_seq_s: Duration
    attn_cta_s: Duration
    attn_fp8_factor: float = Field(gt=0)
    attn_fp8_cta_factor: float = Field(1.0, gt=0)
    attn_window_factor: float = Field(1.0, ge=1)
    attn_l2_ratio: float = Field(gt=0)
    attn_overlap_q: float = Field(ge=1)
    decode_seq_s: Duration
    decode_cta_ratio: float = Field(gt=0)
    decode_fp8_factor: float = Field(gt=0)
    decode_split_s: Duration = 0.0
    ar_latency_s: Duration
    ar_bus_eff: float
    gemm_m_curve: list[float] | None = None
    gemm_n_curve: list[float] | None = None
    gemm_k_curve: list[float] | None = None
    attn_len_curve: list[float] | None = None
    attn_group_curve: list[float] | None = None
    decode_len_curve: list[float] | None = None
    decode_batch_curve: list[float] | None = None
    attn_heads_curve: list[float] | None = None
    attn_dim_curve: list[float] | None = None
    decode_heads_curve: list[float] | None = None
    decode_group_curve: list[float] | None = None
    decode_bytes_curve: list[float] | None = None
    decode_dim_curve: list[float] | None = None
    attn_tokens_curve: list[float] | None = None
    ar_gpus_curve: list[float] | None = None
    ar_bytes_curve: list[float] | None = None
    ar_lat_curve: list[float] | None = None

    @field_validator("gemm_compute_eff", "mem_eff", "attn_compute_eff", "decode_mem_eff", "ar_bus_eff")
    @classmethod
    def _fraction(cls, v, info):
        return check_fraction(info.field_name, v, open_low=True)

    @field_validator("launch_s", "gemm_kstep_s", "mem_fill_s", "attn_launch_s", "decode_fill_s",
                     "attn_seq_s", "attn_cta_s", "decode_seq_s", "decode_split_s", "ar_latency_s")
    @classmethod
    def _nonneg(cls, v, info):
        if not v >= 0:
            raise ConfigError(f"{v!r} must be >= 0", field=info.field_name)
        return v

    @field_validator("gemm_m_curve", "gemm_n_curve", "gemm_k_curve", "attn_len_curve", "attn_group_curve",
                     "decode_len_curve", "decode_batch_curve", "attn_heads_curve", "attn_dim_curve",
                     "decode_heads_curve", "decode_group_curve", "decode_bytes_curve", "decode_dim_curve",
                     "attn_tokens_curve", "ar_gpus_curve", "ar_bytes_curve", "ar_lat_curve")
    @classmethod
    def _curve(cls, v, info):
        if v is not None:
            n = len(CURVE_KNOTS[info.field_name])
            if len(v) != n or not all(x > 0 for x in v):
                raise ConfigError(f"expected {n} positive time multipliers (at sizes "
                                  f"{', '.join(map(str, CURVE_KNOTS[info.field_name]))}), got {v!r}",
                                  field=info.field_name)
        return v

    def as_dict(self) -> dict:
        """``{name: value}`` in seconds and plain numbers (curves as lists), as the analytic model
        takes them; curves not given are left out (multiplier 1)."""
        out = {}
        for k in type(self).model_fields:
            v = getattr(self, k)
            if v is not None:
                out[k] = [float(x) for x in v] if isinstance(v, list) else float(v)
        return out


class Timing(StrictModel):
    """How kernels are timed on this accelerator: measured tables, then the analytic model.

    ``kernels``: a kernel-profile folder (``docs/calibration.md``), relative to this file;
    ``attention_kernel``: the ``kernel_source`` used from its attention tables.
    ``analytic``: fitted parameters, or absent with ``transfer_from`` naming the calibrated
    platform whose parameters carry over (through this file's datasheet numbers).
    """

    kernels: str | None = None
    attention_kernel: str | None = None
    analytic: KernelParams | None = None
    transfer_from: str | None = None
    cuda_graphs: bool = True
    host_overhead: Duration = 0.0
    launch_overhead: Duration = 0.0
    source: str = Source

    @model_validator(mode="after")
    def _check(self):
        if (self.analytic is None) == (self.transfer_from is None):
            raise ConfigError("give exactly one of analytic (fitted parameters) or transfer_from "
                              "(a calibrated platform)", field="analytic")
        if self.kernels is not None and self.attention_kernel is None:
            raise ConfigError("a kernels folder needs attention_kernel (the kernel_source to use)",
                              field="attention_kernel")
        for name in ("host_overhead", "launch_overhead"):
            if not getattr(self, name) >= 0:
                raise ConfigError("must be >= 0", field=name)
        return self


class Compute(StrictModel):
    """``count`` identical accelerators; ``peak_flops`` is dense, per accelerator, per dtype."""

    name: str = Field(min_length=1)
    count: int = Count
    peak_flops: dict[DType, FlopRate] = Field(min_length=1)
    sm_count: int = Field(ge=1)
    sram_per_sm: Size
    l2: Size
    clock: Frequency
    efficiency: Efficiency
    iteration_overhead: Duration = 0.0
    timing: Timing | None = None
    source: str = Source

    @field_validator("sram_per_sm", "l2", "clock")
    @classmethod
    def _pos(cls, v, info):
        return check_positive(info.field_name, v)

    @field_validator("peak_flops")
    @classmethod
    def _pos_flops(cls, v):
        for k, x in v.items():
            check_positive(k, x)
        return v

    # ---- derived --------------------------------------------------------------
    @property
    def sram_total(self) -> int:
        """On-chip shared memory of one accelerator, bytes (``sram_per_sm * sm_count``)."""
        return self.sram_per_sm * self.sm_count

    def peak(self, dtype: str) -> float:
        """Dense peak FLOP/s of one accelerator for ``dtype``; ConfigError if not given."""
        try:
            return self.peak_flops[dtype]
        except KeyError:
            raise ConfigError(f"no peak for dtype {dtype!r}; known: {', '.join(self.peak_flops)}",
                              field="compute.peak_flops") from None


class CurvePoint(StrictModel):
    """One measured/derived point: bandwidth at a request size and queue depth."""

    request_size: Size
    queue_depth: int = Field(ge=1)
    read_bw: Bandwidth
    write_bw: Bandwidth | None = None

    @field_validator("request_size", "read_bw", "write_bw")
    @classmethod
    def _pos(cls, v, info):
        return v if v is None else check_positive(info.field_name, v)


class Tier(StrictModel):
    """A memory level: ``count`` instances of ``capacity`` bytes, each with its own bandwidth."""

    name: str = Field(min_length=1)
    kind: TierKind
    capacity: Size
    count: int = Count
    read_bw: Bandwidth
    write_bw: Bandwidth
    latency: Duration
    granularity: Size
    parallelism: int = Field(ge=1)
    energy_per_byte: EnergyPerByte | None = None
    bw_curve: list[CurvePoint] | None = Field(default=None, min_length=1)
    source: str = Source

    _curve: dict = PrivateAttr(default_factory=dict)

    @field_validator("capacity", "read_bw", "write_bw", "latency", "granularity")
    @classmethod
    def _pos(cls, v, info):
        return check_positive(info.field_name, v)

    @model_validator(mode="after")
    def _check_curve(self):
        seen = set()
        for i, p in enumerate(self.bw_curve or ()):
            key = (p.request_size, p.queue_depth)
            if key in seen:
                raise ConfigError("duplicate point (same request_size and queue_depth)",
                                  field=f"bw_curve[{i}]")
            seen.add(key)
            if p.read_bw > self.read_bw * (1 + 1e-9):
                raise ConfigError(f"{p.read_bw:.6g} B/s exceeds the tier's read_bw "
                                  f"({self.read_bw:.6g} B/s)", field=f"bw_curve[{i}].read_bw")
            if p.write_bw is not None and p.write_bw > self.write_bw * (1 + 1e-9):
                raise ConfigError(f"{p.write_bw:.6g} B/s exceeds the tier's write_bw "
                                  f"({self.write_bw:.6g} B/s)", field=f"bw_curve[{i}].write_bw")
        self._curve = {}
        return self

    # ---- derived --------------------------------------------------------------
    @property
    def capacity_total(self) -> int:
        """Bytes over all instances (``capacity * count``)."""
        return self.capacity * self.count

    @property
    def read_bw_total(self) -> float:
        return self.read_bw * self.count

    @property
    def write_bw_total(self) -> float:
        return self.write_bw * self.count

    def bandwidth_at(self, request_size: float, queue_depth: float = 1, *,
                     write: bool = False) -> float:
        """Bytes/s of one instance for requests of ``request_size`` bytes at ``queue_depth``.

        Interpolates ``bw_curve`` (log-log in request size, linear in queue depth,
        clamped outside the table); without a curve (or without write points) it is
        ``read_bw`` / ``write_bw``.  Never above those.
        """
        check_positive("request_size", request_size)
        check_positive("queue_depth", queue_depth)
        cap = self.write_bw if write else self.read_bw
        curve = self._curve.get(write)
        if curve is None:
            pts = [(p.request_size, p.queue_depth, p.write_bw if write else p.read_bw)
                   for p in self.bw_curve or ()]
            curve = Curve([p for p in pts if p[2] is not None])
            self._curve[write] = curve
        if not curve:
            return cap
        return min(curve(request_size, queue_depth), cap)


class Link(StrictModel):
    """A pipe between two tiers; ``bandwidth`` is per direction, per instance."""

    name: str = Field(min_length=1)
    between: tuple[str, str] = Field(strict=False)   # YAML gives a list; strict wants a tuple
    bandwidth: Bandwidth
    latency: Duration
    duplex: Literal["full", "half"] = "full"
    count: int = Count
    source: str = Source

    @field_validator("bandwidth")
    @classmethod
    def _pos(cls, v, info):
        return check_positive(info.field_name, v)

    def connects(self, a: str, b: str) -> bool:
        """True if this link joins tiers ``a`` and ``b`` (in either order)."""
        return {a, b} == set(self.between)


class Platform(StrictModel):
    """A machine: its accelerators, memory tiers nearest compute first, and links."""

    version: Literal[1]
    name: str = Field(min_length=1)
    description: str
    source: str = Source
    compute: Compute
    tiers: list[Tier] = Field(min_length=1)
    links: list[Link] = Field(default_factory=list)

    _file: str | None = PrivateAttr(default=None)

    @property
    def file(self) -> str | None:
        """The YAML file this platform was loaded from (None if built in memory)."""
        return self._file

    @model_validator(mode="after")
    def _check(self):
        names: dict[str, int] = {}
        for i, t in enumerate(self.tiers):
            if t.name in names:
                raise ConfigError(f"duplicate tier name {t.name!r} (also tiers[{names[t.name]}])",
                                  field=f"tiers[{i}].name")
            names[t.name] = i
            if i and KIND_RANK[t.kind] < KIND_RANK[self.tiers[i - 1].kind]:
                raise ConfigError(
                    f"tier kind {t.kind!r} listed after {self.tiers[i - 1].kind!r}; list tiers "
                    "nearest compute first (sram, hbm, dram, cxl, flash/ssd, remote)",
                    field=f"tiers[{i}].kind")
        seen: dict[str, int] = {}
        for i, link in enumerate(self.links):
            if link.name in seen:
                raise ConfigError(f"duplicate link name {link.name!r} (also links[{seen[link.name]}])",
                                  field=f"links[{i}].name")
            seen[link.name] = i
            for j, end in enumerate(link.between):
                if end not in names:
                    raise ConfigError(f"unknown tier {end!r}; tiers: {', '.join(names)}",
                                      field=f"links[{i}].between[{j}]")
        return self

    # ---- lookups ----------------------------------------------------------------
    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise ConfigError(f"unknown tier {name!r}; tiers: {', '.join(t.name for t in self.tiers)}",
                          field="tiers")

    def tier_of_kind(self, kind: str) -> Tier | None:
        return next((t for t in self.tiers if t.kind == kind), None)

    def link(self, name: str) -> Link:
        for link in self.links:
            if link.name == name:
                return link
        known = ", ".join(link.name for link in self.links) or "(none)"
        raise ConfigError(f"unknown link {name!r}; links: {known}", field="links")

    def link_between(self, a: str, b: str) -> Link | None:
        """The first link joining tiers ``a`` and ``b`` (either order), or None."""
        return next((link for link in self.links if link.connects(a, b)), None)

    def path(self, a: str, b: str) -> list[Link]:
        """Links along the shortest tier chain from ``a`` to ``b`` (BFS, file order breaks ties).

        ``path("hbm", "ssd")`` is ``[pcie, nvme]`` on a GPU server; ``path(x, x)`` is ``[]``.
        """
        self.tier(a), self.tier(b)
        if a == b:
            return []
        prev: dict[str, tuple[str, Link] | None] = {a: None}
        todo = deque([a])
        while todo:
            cur = todo.popleft()
            for link in self.links:
                x, y = link.between
                nxt = y if x == cur else x if y == cur else None
                if nxt is None or nxt in prev:
                    continue
                prev[nxt] = (cur, link)
                if nxt == b:
                    out = []
                    node = b
                    while prev[node] is not None:
                        node, via = prev[node]
                        out.append(via)
                    return out[::-1]
                todo.append(nxt)
        raise ConfigError(f"no links connect tier {a!r} to tier {b!r}", field="links")

    def derived(self) -> dict:
        """Values computed from the given ones (kept apart from them), for display."""
        return {
            "compute.sram_total": self.compute.sram_total,
            **{f"tiers.{t.name}.capacity_total": t.capacity_total for t in self.tiers},
            **{f"tiers.{t.name}.read_bw_total": t.read_bw_total for t in self.tiers},
        }
