"""Hardware models: YAML platforms (compute, memory tiers, links) and their loader.

    >>> from hwmodels import load_platform
    >>> p = load_platform("h100_sxm")
    >>> [l.name for l in p.path("hbm", "ssd")]
    ['pcie', 'nvme']

Every number in a shipped file cites its datasheet, paper or measurement; see
``docs/hardware.md`` for the schema and how to add a platform.
"""
from ._loader import HWMODELS_DIR, list_platforms, load_platform, platform_path
from .profiles import KINDS as KERNEL_KINDS
from .profiles import load_profile, profile_kinds
from .schema import (
                     DTYPES,
                     KIND_RANK,
                     TIER_KINDS,
                     Compute,
                     CurvePoint,
                     Efficiency,
                     KernelParams,
                     Link,
                     Platform,
                     Tier,
                     Timing,
)

__all__ = ["load_platform", "list_platforms", "platform_path", "HWMODELS_DIR",
           "Platform", "Compute", "Efficiency", "Timing", "KernelParams", "Tier", "Link", "CurvePoint",
           "load_profile", "profile_kinds", "KERNEL_KINDS",
           "DTYPES", "TIER_KINDS", "KIND_RANK"]
