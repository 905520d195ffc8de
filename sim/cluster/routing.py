"""Routing stages: a router over a fixed list of candidate replicas, and the cluster's seeded generators.

A cluster has one stage per decision: ``arrival`` (mixed replicas, or the prefill
pool under disaggregation) and, under disaggregation, ``decode`` (the decode pool,
asked when a prompt's KV is ready to move).  A stage hands its router the same
candidate list every time, filtered by role once at build, so a router can never
pick a replica of the wrong role, and checks what the router returns.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memsim.ground.errors import ConfigError
from memsim.policies import create

__all__ = ["Stage", "build_stages", "cluster_seeds", "STAGE_ROLES"]

#: stage -> the roles of the replicas it may choose
STAGE_ROLES = {"arrival": ("mixed", "prefill"), "decode": ("decode",)}

#: child of SeedSequence(scenario seed) the cluster draws from (0: workload, 1: scheduler, 2: recall)
_CLUSTER_CHILD = 3


def cluster_seeds(seed: int, replicas: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence,
                                                     list[np.random.SeedSequence]]:
    """(arrival router, decode router, one per replica k >= 1): children of one cluster seed.

    Replica 0 keeps the single-engine scheduler generator, so ``cluster: {replicas: 1}``
    draws exactly what a scenario without a cluster draws.
    """
    kids = np.random.SeedSequence(seed).spawn(_CLUSTER_CHILD + 1)[_CLUSTER_CHILD].spawn(2 + max(0, replicas - 1))
    return kids[0], kids[1], kids[2:]


class Stage:
    """``router`` over the replicas whose role this stage serves; ``pick`` returns one of them."""

    def __init__(self, name: str, router, replicas: Sequence, *, field: str):
        roles = STAGE_ROLES[name]
        self.name, self.router, self.field = name, router, field
        self.candidates = tuple(r for r in replicas if r.role in roles)
        if not self.candidates:
            raise ConfigError(f"no replica of role {' or '.join(roles)} for the {name} router", field=field)
        self.routed = [0] * len(self.candidates)

    def pick(self, request, now_s: float):
        """The replica (view) ``request`` goes to; a router answering outside the list is an error."""
        i = self.router.route(request, self.candidates, now_s)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self.candidates):
            raise ConfigError(f"router {getattr(self.router, 'name', self.router)!r} returned {i!r}; expected a "
                              f"position 0..{len(self.candidates) - 1} in its replica list", field=self.field)
        i = int(i)
        self.routed[i] += 1
        return self.candidates[i]


def build_stages(cluster, replicas: Sequence, seed: int) -> dict[str, Stage]:
    """The stages of a validated ``ClusterConfig`` over the cluster's replica views."""
    arrival_seed, decode_seed, _ = cluster_seeds(seed, len(replicas))
    stages = {"arrival": Stage("arrival", create("router", cluster.router, rng=np.random.default_rng(arrival_seed)),
                               replicas, field="cluster.router")}
    if cluster.disaggregated:
        spec = cluster.decode_router if cluster.decode_router is not None else cluster.router
        stages["decode"] = Stage("decode", create("router", spec, rng=np.random.default_rng(decode_seed)),
                                 replicas, field="cluster.decode_router")
    return stages
