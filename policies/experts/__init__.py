"""Expert-prefetch policies: which MoE experts to fetch into HBM ahead of their layer.

Importing this package registers ``none``, ``lookahead`` (after "Read-ME"),
``hottest`` (after "D^{2}MoE") and ``affinity`` (after ExFlow's inter-layer
affinity) in the ``expert_prefetch`` family; ``base.ExpertPrefetch`` is the interface.
"""
from .affinity import Affinity
from .base import Cached, ExpertPrefetch
from .hottest import Hottest
from .lookahead import Lookahead
from .none import NoExpertPrefetch

__all__ = ["ExpertPrefetch", "Cached", "NoExpertPrefetch", "Lookahead", "Hottest", "Affinity"]
