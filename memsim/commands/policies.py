"""``memsim policies``: every registered policy of every family, with the paper it models."""
from __future__ import annotations

import shutil
import textwrap

from ._common import add_command, print_json

_GAP = "  "


def wrapped_table(header: list[str], rows: list[list[str]], *, width: int, wrap: tuple[int, ...],
                  indent: str = "  ", narrow: dict[int, int] | None = None) -> str:
    """Aligned columns that fit ``width``: the ``wrap`` columns share what the others leave, word-wrapped.

    ``narrow`` gives columns that may wrap to a given width when the table is too wide.
    """
    cols = [header] + rows
    widths = [max(len(r[i]) for r in cols) for i in range(len(header))]
    if sum(widths) + len(indent) + len(_GAP) * (len(header) - 1) > width:
        for i, w in (narrow or {}).items():
            widths[i] = min(widths[i], w)
    wrap = tuple(wrap) + tuple(narrow or ())
    fixed = sum(w for i, w in enumerate(widths) if i not in wrap)
    room = width - len(indent) - len(_GAP) * (len(header) - 1) - fixed
    room -= sum(widths[i] for i in (narrow or ()))
    shared = [i for i in wrap if i not in (narrow or {})]
    natural = sum(widths[i] for i in shared)
    if room < natural:   # share the room in proportion to each column's longest cell, 12 at least
        for i in shared:
            widths[i] = max(12, room * widths[i] // natural)
        if shared:       # a column raised to 12 takes its excess from the widest one
            widest = max(shared, key=lambda i: widths[i])
            widths[widest] = max(12, widths[widest] - (sum(widths[i] for i in shared) - room))
    lines = []
    for r in cols:
        cells = [textwrap.wrap(c, widths[i]) or [""] if i in wrap else [c]
                 for i, c in enumerate(r)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(widths[i]) for i, c in enumerate(cells)]
            lines.append((indent + _GAP.join(parts)).rstrip())
    return "\n".join(lines)


def _policies(args) -> int:
    from memsim.policies import describe
    rows = [r for r in describe() if not args.kind or r["kind"] == args.kind]
    if args.json:
        for r in rows:
            print_json(r)
        return 0
    body = [[r["kind"], r["name"] + (f" ({', '.join(a.strip() for a in r['aliases'].split(','))})"
                                     if r["aliases"] else ""), r["summary"], r["paper"]] for r in rows]
    width = args.width or shutil.get_terminal_size((120, 24)).columns
    names = max(len(r["name"]) for r in rows) if rows else 4   # aliases may wrap below the name
    print(wrapped_table(["kind", "name", "decides", "models"], body, width=width, wrap=(2, 3),
                        narrow={1: max(names, 12)}))
    return 0


def register(sub) -> None:
    p = add_command(sub, "policies", help="list every registered policy (eviction, admission, "
                    "and the other families) with what it decides and the paper it models",
                    example="memsim policies --kind eviction", func=_policies)
    p.add_argument("--kind", metavar="FAMILY", help="only this family (e.g. eviction)")
    p.add_argument("--json", action="store_true", help="one JSON object per policy")
    p.add_argument("--width", type=int, metavar="COLUMNS",
                   help="wrap to this many columns (default: the terminal's width, else $COLUMNS, else 120)")
