"""How many requests of the shared Mooncake conversation trace exceed each catalogue model's window.

For every model of workloads/models: prompts that leave no room for an output token
(rejected, or truncated, by ``sim.context.fit_context``) and admitted requests whose
output is capped at the window.  The numbers are in docs/weights-experts.md.

    python benchmarks/context_window.py [TRACE.jsonl]
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memsim.sim.context import fit_context  # noqa: E402
from memsim.workloads import list_models, load_model, open_workload  # noqa: E402

TRACE = ROOT / ".." / "shared" / "traces" / "mooncake_conversation" / "conversation_trace.jsonl"


def main(argv=None) -> int:
    path = pathlib.Path((argv or sys.argv[1:] or [str(TRACE)])[0])
    reqs = list(open_workload({"kind": "mooncake", "path": str(path)}))
    inp = np.array([r.input_tokens for r in reqs])
    out = np.array([r.output_tokens for r in reqs])
    print(f"{path.name}: {len(reqs)} requests; prompt max {inp.max()}, p99 {np.percentile(inp, 99):.0f}; "
          f"prompt + output max {(inp + out).max()}\n")
    print("| model | max_context | rejected (prompt >= window) | output capped | tokens lost to the cap |")
    print("| --- | --- | --- | --- | --- |")
    for name, _ in list_models():
        w = load_model(name).max_context
        f = fit_context(inp, out, max_context=w)
        lost = int((out - f.output_tokens)[f.admitted].sum())
        print(f"| {name} | {w:,} | {f.rejected} ({100 * f.rejected / len(reqs):.1f}%) | "
              f"{int(f.capped.sum())} | {lost:,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
