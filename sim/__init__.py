"""memsim's engine: scenario, serving loop, scheduler, KV blocks, tiers, links, cost model.

The public entry points are re-exported by ``memsim`` (``memsim.run``,
``memsim.load_scenario``, ``memsim.Result``); this package holds the modules
that implement them.  It imports only the parts (``memsim.policies``,
``memsim.workloads``, ``memsim.hwmodels``) and the ground.
"""
