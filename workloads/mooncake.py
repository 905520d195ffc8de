"""Mooncake trace reader: JSON Lines with timestamp (ms), lengths and 512-token block hashes.

One request per line, e.g. ``{"timestamp": 0, "input_length": 6758,
"output_length": 500, "hash_ids": [0, 1, ...]}`` (Mooncake, FAST 2025).  Extra
keys are ignored; ``hash_ids`` may be absent (no prefix information then).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

from ._lines import MAX_TOKENS, iter_lines, trace_error
from ._stream import Row

__all__ = ["read_mooncake_rows"]

_FIELDS = ("timestamp", "input_length", "output_length")


def read_mooncake_rows(path: Path, *, hash_block_tokens: int | None = 512) -> Iterator[Row]:
    """Yield ``(time_s, input, output, hash_ids, line)``; each bad line raises TraceError.

    ``hash_block_tokens=None`` skips ``hash_ids`` (for readers that need lengths only).
    """
    bt = hash_block_tokens
    loads = json.loads
    for n, text, complete in iter_lines(path):
        try:
            obj = loads(text)
            ts = obj["timestamp"]
            inp = obj["input_length"]
            out = obj["output_length"]
        except Exception as e:  # noqa: BLE001 - every failure becomes one located message
            raise _row_problem(e, text, complete, path, n) from None
        if not isinstance(ts, (int, float)) or isinstance(ts, bool) or not math.isfinite(ts) \
                or ts < 0:
            raise trace_error(f"timestamp {ts!r} is not a finite number of ms >= 0", path, n)
        if type(inp) is not int or not 1 <= inp <= MAX_TOKENS:
            raise trace_error(f"input_length {inp!r} is not an integer in 1..{MAX_TOKENS}", path, n)
        if type(out) is not int or not 1 <= out <= MAX_TOKENS:
            raise trace_error(f"output_length {out!r} is not an integer in 1..{MAX_TOKENS}", path, n)
        hashes = obj.get("hash_ids") if bt is not None else None
        if hashes is not None:
            if not isinstance(hashes, list) or not all(type(h) is int and 0 <= h < 1 << 64 for h in hashes):
                raise trace_error("hash_ids is not a list of integers >= 0 (below 2**64)", path, n)
            need = -(-inp // bt)
            if len(hashes) != need:
                raise trace_error(f"hash_ids has {len(hashes)} ids but input_length {inp} needs "
                                  f"ceil({inp}/{bt}) = {need} (check hash_block_tokens)", path, n)
            hashes = tuple(hashes)
        yield ts / 1000.0, inp, out, hashes, n


def _row_problem(e: Exception, text: str, complete: bool, path, n: int):
    if isinstance(e, json.JSONDecodeError):
        if not text.strip():
            problem = "blank line"
        else:
            problem = f"invalid JSON at column {e.colno}: {e.msg}"
    elif isinstance(e, KeyError):
        problem = f"missing field {e.args[0]!r}"
    elif isinstance(e, TypeError):
        problem = f"expected a JSON object with {', '.join(_FIELDS)}"
    else:
        problem = f"cannot parse: {e}"
    if not complete:
        problem = f"truncated last line (no newline at end): {problem}"
    return trace_error(problem, path, n)
