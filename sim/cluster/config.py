"""The ``cluster:`` and ``slo:`` sections of a serve scenario, validated.

Simple form: ``cluster: {replicas: 4, router: prefix_aware}`` (identical replicas of
the scenario's platform x tp).  General form: ``cluster: {pools: [...], router: ...,
decode_router: ..., network: {...}, kv_pool: {...}, kv_transfer: {...}}``, where each
pool names its platform, model, tp, replica count and role (``mixed``, or
``prefill`` + ``decode`` for disaggregated serving).  No ``cluster:`` is one replica.
What needs the hardware or model files (a model that does not fit a pool, a platform
without a NIC) is checked when the cluster is built.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, field_validator, model_validator

from memsim.ground.errors import ConfigError
from memsim.ground.schema import StrictModel
from memsim.ground.units import Bandwidth, Duration, parse_size
from memsim.policies import registry

__all__ = ["ClusterConfig", "PoolConfig", "NetworkConfig", "KVPoolConfig", "KVTransferConfig", "SLOConfig",
           "RouterSpec"]

Role = Literal["mixed", "prefill", "decode"]


def _router_spec(v):
    # the engine passes rng; a YAML file names the router and its parameters only
    return registry.check_spec("router", v, context={"rng": None})


#: A router: a registered name or ``{name: ..., <parameters>}``, checked against the registry.
RouterSpec = Annotated[Union[str, dict[str, Any]], BeforeValidator(_router_spec)]


def _eviction_spec(v):
    return registry.check_spec("eviction", v)


class PoolConfig(StrictModel):
    """``replicas`` identical model replicas of one platform x tp, all in one role."""

    name: str = Field(..., min_length=1, description="pool name (unique), used in result tables")
    platform: Optional[str] = Field(None, description="hwmodels name or path (default: the scenario's)")
    model: Optional[str] = Field(None, description="model catalogue name or path (default: the scenario's)")
    tp: Optional[int] = Field(None, ge=1, le=64, description="GPUs per replica (default: parallelism.tp)")
    replicas: int = Field(1, description="how many replicas the pool has")
    role: Role = Field("mixed", description="mixed | prefill | decode")

    @field_validator("replicas")
    @classmethod
    def _some(cls, v):
        if v < 1:
            raise ConfigError(f"{v} replicas: a pool needs at least 1")
        return v


class NetworkConfig(StrictModel):
    """Links between replicas: each node's NICs (RDMA), NVLink inside a node, an optional spine.

    Unset NIC numbers come from the platform's ``rdma`` link (bandwidth per NIC,
    ``count`` NICs per node, latency), so they carry the hardware file's sources.
    """

    nic_bandwidth: Optional[Bandwidth] = Field(None, description='per NIC and direction, e.g. "400 Gb/s"')
    nics_per_node: Optional[int] = Field(None, ge=1, le=64, description="NICs per node (DGX H100: 8)")
    nic_latency: Optional[Duration] = Field(None, description="one transfer's NIC + switch latency")
    nvlink: bool = Field(True, description="transfers between replicas of one node use the platform's NVLink")
    spine_bandwidth: Optional[Bandwidth] = Field(
        None, description="total bandwidth between nodes (an oversubscribed core); default: non-blocking")
    placement: Literal["by_pool", "packed"] = Field(
        "by_pool", description="by_pool: each pool on nodes of its own; packed: pools of one platform share nodes")

    @field_validator("nic_bandwidth", "spine_bandwidth")
    @classmethod
    def _bandwidth(cls, v):
        if v is not None and v <= 0:
            raise ConfigError("a network link needs a bandwidth > 0")
        return v


class KVPoolConfig(StrictModel):
    """A KV store shared by every replica over the network (Mooncake Store style).

    Its bandwidth and latency come from the platform tier it names (``remote`` on
    the shipped H100 file); loads and stores also cross each replica's NICs.
    """

    tier: str = Field("remote", description="the platform tier the pool's memory is (kind remote, dram or ssd)")
    capacity: Union[Literal["unlimited"], int, None] = Field(
        None, description='bytes of KV the pool holds ("16 TiB", "unlimited"); default: the tier\'s capacity')
    eviction: Annotated[Union[str, dict[str, Any]], BeforeValidator(_eviction_spec)] = Field(
        "lru", description="eviction policy of the pool")
    chunk_tokens: int = Field(512, ge=1, le=1 << 20, description="tokens per stored chunk (Mooncake: 512)")

    @field_validator("capacity", mode="before")
    @classmethod
    def _cap(cls, v):
        if v == "unlimited" or v is None:
            return v
        n = parse_size(v)
        if n <= 0:
            raise ConfigError(f"{v!r} must be > 0 (leave kv_pool out, or write \"unlimited\")")
        return n


class KVTransferConfig(StrictModel):
    """How a prefill replica hands a prompt's KV to its decode replica."""

    mode: Literal["after_prefill", "layerwise"] = Field(
        "after_prefill", description="after_prefill: send when the prompt is done; layerwise: stream each "
                                     "layer's KV as it is computed, overlapped with the prefill")


class ClusterConfig(StrictModel):
    """Many replicas in one simulation, a router in front, the network between them."""

    replicas: Optional[int] = Field(None, description="simple form: N identical mixed replicas")
    pools: Optional[list[PoolConfig]] = Field(None, description="general form: pools of replicas")
    router: RouterSpec = Field("round_robin", description="router policy (kind 'router') for arrivals")
    decode_router: Optional[RouterSpec] = Field(
        None, description="router choosing the decode replica of a prefilled request (default: as router)")
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    kv_pool: Optional[KVPoolConfig] = Field(None, description="a KV store shared by every replica")
    kv_transfer: KVTransferConfig = Field(default_factory=KVTransferConfig)

    @field_validator("replicas")
    @classmethod
    def _some(cls, v):
        if v is not None and v < 1:
            raise ConfigError(f"{v} replicas: a cluster needs at least 1")
        return v

    @field_validator("pools")
    @classmethod
    def _pools(cls, v):
        if v is None:
            return v
        if not v:
            raise ConfigError("an empty list: give at least one pool")
        seen: dict[str, int] = {}
        for i, p in enumerate(v):
            if p.name in seen:
                raise ConfigError(f"pool name {p.name!r} appears twice (pools[{seen[p.name]}] and pools[{i}])")
            seen[p.name] = i
        roles = {p.role for p in v}
        if "decode" in roles and "prefill" not in roles:
            d = next(p.name for p in v if p.role == "decode")
            raise ConfigError(f"decode pool {d!r} has no prefill pool to take prompts from")
        if "prefill" in roles and "decode" not in roles:
            p = next(p.name for p in v if p.role == "prefill")
            raise ConfigError(f"prefill pool {p!r} has no decode pool to hand its KV to")
        if "mixed" in roles and len(roles) > 1:
            raise ConfigError("mixed pools cannot be combined with prefill/decode pools: use mixed pools "
                              "only, or prefill and decode pools only")
        return v

    @model_validator(mode="after")
    def _one_form(self):
        if self.replicas is not None and self.pools is not None:
            raise ConfigError("give either replicas: N or pools: [...], not both", field="pools")
        if self.replicas is None and self.pools is None:
            raise ConfigError("a cluster needs replicas: N or pools: [...]", field="replicas")
        if self.decode_router is not None and not self.disaggregated:
            raise ConfigError("only used with prefill and decode pools", field="decode_router")
        if self.kv_transfer.mode != "after_prefill" and not self.disaggregated:
            raise ConfigError("only used with prefill and decode pools", field="kv_transfer.mode")
        return self

    # ---- derived --------------------------------------------------------------------
    @property
    def disaggregated(self) -> bool:
        """True when prompts and decodes run on different replicas (prefill + decode pools)."""
        return self.pools is not None and any(p.role == "prefill" for p in self.pools)

    def resolved_pools(self, *, platform: str, model: str, tp: int) -> list[PoolConfig]:
        """The pools with every default filled in from the scenario (the simple form is one pool)."""
        if self.pools is None:
            return [PoolConfig(name="replicas", platform=platform, model=model, tp=tp,
                               replicas=self.replicas, role="mixed")]
        return [p.model_copy(update={"platform": p.platform or platform, "model": p.model or model,
                                     "tp": p.tp or tp}) for p in self.pools]

    @property
    def total_replicas(self) -> int:
        return self.replicas if self.pools is None else sum(p.replicas for p in self.pools)


class SLOConfig(StrictModel):
    """Latency targets a request must meet to count toward goodput (DistServe's definition)."""

    ttft: Optional[Duration] = Field(None, description='time to first token, e.g. "2 s"')
    tpot: Optional[Duration] = Field(None, description='time per output token after the first, e.g. "100 ms"')

    @field_validator("ttft", "tpot")
    @classmethod
    def _pos(cls, v):
        if v is not None and v <= 0:
            raise ConfigError("an SLO must be > 0 (leave it out to not constrain it)")
        return v

    @model_validator(mode="after")
    def _some(self):
        if self.ttft is None and self.tpot is None:
            raise ConfigError("give ttft, tpot or both", field="ttft")
        return self
