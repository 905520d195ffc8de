"""Routers: which replica of a cluster serves each request.

Importing this package registers the built-ins; ``base.Router`` is the interface,
``base.ReplicaView`` what a router sees of a replica, ``base.ReplicaSnapshot`` a
fixed view for notebooks and tests.
"""
from .base import ROLES, ReplicaSnapshot, ReplicaView, RoutedRequest, Router
from .least_kv import LeastKV
from .least_requests import LeastRequests
from .prefix_aware import PrefixAware
from .random import Random
from .round_robin import RoundRobin
from .session_affinity import SessionAffinity

__all__ = ["ROLES", "ReplicaSnapshot", "ReplicaView", "RoutedRequest", "Router", "LeastKV", "LeastRequests",
           "PrefixAware", "Random", "RoundRobin", "SessionAffinity"]
