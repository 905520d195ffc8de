"""vLLM's engine-argument names, accepted in a serve scenario where memsim has the same knob.

A user coming from vLLM may write ``scheduler.max_num_seqs: 64`` (or ``--set
scheduler.max_num_seqs=64``) for memsim's ``scheduler.max_batch_size``.  The alias
is renamed to the canonical field before validation, so results, dumps and
``scenario.yaml`` always record the canonical name; giving both spellings is an
error.  The table is ``ALIASES`` (docs/vllm-names.md prints it).
"""
from __future__ import annotations

from typing import Any

from memsim.ground.errors import ConfigError, combine

__all__ = ["ALIASES", "rename_data", "rename_overrides", "show_aliases", "hint"]

#: alias path -> canonical path, both from the scenario's root
ALIASES = {
    "scheduler.max_num_seqs": "scheduler.max_batch_size",
    "scheduler.max_num_batched_tokens": "scheduler.max_batch_tokens",
    "scheduler.enable_chunked_prefill": "scheduler.chunked_prefill",
    "kv.block_size": "kv.block_tokens",
    "kv.gpu_memory_utilization": "kv.memory_fraction",
    "kv.enable_prefix_caching": "kv.prefix_cache.enabled",
    "parallelism.tensor_parallel_size": "parallelism.tp",
}
_BY_NAME = {a.rsplit(".", 1)[1]: a for a in ALIASES}


def _node(data: Any, parts: list[str]):
    """The mapping at ``parts`` inside ``data`` (None if a step is missing or not a mapping)."""
    cur = data
    for p in parts:
        if not isinstance(cur, dict) or not isinstance(cur.get(p), dict):
            return None
        cur = cur[p]
    return cur


def rename_data(data: dict, aliases: dict[str, str]) -> tuple[dict, dict[str, str], list]:
    """Move alias keys of ``data`` (in place) to their canonical paths.

    Returns ``(data, renamed, errors)``: ``renamed`` maps each canonical path given
    through an alias to that alias (so errors can name what the user wrote);
    ``errors`` holds one ConfigError per field given under both names.
    """
    renamed, errors = {}, []
    for alias, canon in aliases.items():
        a_parts, c_parts = alias.split("."), canon.split(".")
        holder = _node(data, a_parts[:-1])
        if holder is None or a_parts[-1] not in holder:
            continue
        target = _node(data, c_parts[:-1])
        if target is not None and c_parts[-1] in target:
            errors.append(ConfigError(f"give {alias} (vLLM's name) or {canon}, not both",
                                      field=alias))
            del holder[a_parts[-1]]     # reported once, here
            continue
        if target is None:   # e.g. kv.prefix_cache not written yet
            parent = _node(data, c_parts[:-2]) if len(c_parts) > 1 else data
            if parent is None or c_parts[-2] in parent:
                continue      # not a mapping there: validation reports the alias as it is
            target = parent[c_parts[-2]] = {}
        target[c_parts[-1]] = holder.pop(a_parts[-1])
        renamed[canon] = alias
    return data, renamed, errors


def rename_overrides(overrides: dict[str, Any], aliases: dict[str, str]):
    """Overrides with alias paths made canonical -> ``(overrides, renamed, errors)``;
    two keys naming one field (``max_num_seqs`` and ``max_batch_size``) is an error."""
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    renamed, errors = {}, []
    for path, value in overrides.items():
        canon = aliases.get(path, path)
        if canon in out:
            errors.append(ConfigError(f"{given[canon]} and {path} set the same field ({canon}); "
                                      "give it once", field=path))
            continue
        out[canon], given[canon] = value, path
        if canon != path:
            renamed[canon] = path
    return out, renamed, errors


def show_aliases(err: ConfigError, renamed: dict[str, str]) -> ConfigError:
    """``err`` with fields given through an alias named as the user wrote them, and
    unknown keys that are vLLM names pointed at memsim's field."""
    out = []
    for e in getattr(err, "errors", [err]):
        field = e.field or ""
        for canon, alias in renamed.items():
            if field == canon or field.startswith(canon + "."):
                field = alias + field[len(canon):]
                break
        problem = e.problem
        if problem.startswith("unknown key"):
            problem += hint(field.rsplit(".", 1)[-1])
        out.append(type(e)(problem, file=e.file, field=field or None))
    return combine(out)


def hint(key: str) -> str:
    """For an unknown key that is a vLLM name: where memsim takes it."""
    alias = _BY_NAME.get(key)
    if alias is None:
        return ""
    return f" (vLLM's {key}: write {ALIASES[alias]}, or its alias {alias})"
