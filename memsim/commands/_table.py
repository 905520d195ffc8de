"""Plain-text tables for ``memsim hw show`` / ``memsim models show``: aligned columns, no deps."""
from __future__ import annotations

__all__ = ["table", "format_flops", "format_count"]


def table(header: list[str], rows: list[list[str]], *, indent: str = "  ") -> str:
    """Left-aligned columns separated by two spaces, with a header row."""
    cols = [header] + rows
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    lines = []
    for r in cols:
        lines.append(indent + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def format_flops(x: float, unit: str = "FLOP/s") -> str:
    """``format_flops(9.894e14) == '989.4 TFLOP/s'``."""
    for p, f in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= f:
            return f"{x / f:.4g} {p}{unit}"
    return f"{x:.4g} {unit}"


def format_count(n: float) -> str:
    """``format_count(8.03e9) == '8.03 B'`` (billions/millions, for parameter counts)."""
    for p, f in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= f:
            return f"{n / f:.4g} {p}"
    return f"{n:.4g}"
