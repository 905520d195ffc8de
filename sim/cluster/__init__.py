"""Cluster serving: many replicas in one simulation, routers, the network between them.

``config`` holds the scenario's ``cluster:`` and ``slo:`` sections; ``network`` the
NIC/NVLink channels (on the fair-share links of ``memsim.sim.link``); ``placement``
which node each replica sits on; ``prefix_index`` the cluster-wide map of cached
prefix blocks routers read; ``metrics`` SLO goodput and per-replica tables.
"""
