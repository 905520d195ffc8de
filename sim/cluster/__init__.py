"""Cluster serving: many replicas in one simulation, routers, the network between them.

``config`` holds the scenario's ``cluster:`` and ``slo:`` sections; ``placement``
which node each replica sits on and its ports; ``network`` the NIC/NVLink/spine
channels (on the fair-share links of ``memsim.sim.link``); ``prefix_index`` the
cluster-wide map of cached prefix blocks routers read; ``routing`` the router stages;
``kvpool`` the KV store shared by every replica; ``metrics`` SLO goodput and
per-replica tables.  ``docs/cluster.md`` describes how the engine uses them.
"""
