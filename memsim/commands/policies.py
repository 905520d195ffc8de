"""``memsim policies``: every registered policy of every family, with the paper it models."""
from __future__ import annotations

from ._common import add_command, print_json
from ._table import table


def _policies(args) -> int:
    from memsim.policies import describe
    rows = [r for r in describe() if not args.kind or r["kind"] == args.kind]
    if args.json:
        for r in rows:
            print_json(r)
        return 0
    body = []
    for r in rows:
        name = r["name"] + (f" ({r['aliases']})" if r["aliases"] else "")
        paper = r["paper"] if len(r["paper"]) <= 70 else r["paper"][:67] + "..."
        body.append([r["kind"], name, r["summary"], paper])
    print(table(["kind", "name", "decides", "models"], body))
    return 0


def register(sub) -> None:
    p = add_command(sub, "policies", help="list every registered policy (eviction, admission, "
                    "and the other families) with what it decides and the paper it models",
                    example="memsim policies --kind eviction", func=_policies)
    p.add_argument("--kind", metavar="FAMILY", help="only this family (e.g. eviction)")
    p.add_argument("--json", action="store_true", help="one JSON object per policy")
