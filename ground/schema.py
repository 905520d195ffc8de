"""Shared pieces for pydantic-validated YAML: strict models, loading, error conversion."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

__all__ = ["StrictModel", "load_yaml", "validate", "validate_located", "field_path"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              protected_namespaces=())


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; a missing file or bad syntax raises ConfigError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte {e.start})", file=str(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as e:
        raise ConfigError(f"line {e.line}: key {e.key!r} appears twice in one mapping",
                          file=str(path)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}invalid YAML: {problem}", file=str(path)) from None
    return data


class _DuplicateKey(Exception):
    def __init__(self, key, line):
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
            except TypeError:
                dup = False
            if dup:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key) if not isinstance(key, (list, dict)) else None
        return super().construct_mapping(node, deep=deep)


def field_path(loc: tuple, cls: type | None = None) -> str:
    """pydantic error location -> ``tiers[1].read_bw`` (union tags such as ``synthetic`` dropped)."""
    if cls is not None:
        loc = _drop_union_tags(cls, loc)
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or part in ("tagged-union",):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def validate(cls: type[M], data: Any, *, file: str | Path | None = None, prefix: str | None = None) -> M:
    """Build ``cls`` from ``data``; the first problem becomes one ConfigError line."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = field_path(err["loc"], cls)
        ctx_err0 = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err0, ConfigError) and ctx_err0.field and ctx_err0.field not in loc:
            loc = f"{loc}.{ctx_err0.field}" if loc else ctx_err0.field
        if prefix:
            loc = f"{prefix}.{loc}" if loc else prefix
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, ConfigError):
            msg = ctx_err.problem
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
            known = list(_fields_at(cls, err["loc"][:-1]))
            if known:
                import difflib
                close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
                msg += (f" (did you mean {close[0]!r}?)" if close else "") + f"; known: {', '.join(known)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        raise ConfigError(msg, file=None if file is None else str(file), field=loc or None) from None
    except ConfigError as e:
        raise e.located(file=None if file is None else str(file), field_prefix=prefix) from None


def _fields_at(cls, loc):
    """Best-effort: the field names of the model at ``loc`` (for 'known:' hints)."""
    import typing
    cur = cls
    for part in loc:
        if isinstance(part, int):
            continue
        f = getattr(cur, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        nxt = None
        for cand in (ann, *typing.get_args(ann)):
            for c in (cand, *typing.get_args(cand)):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    nxt = c
                    break
            if nxt:
                break
        if nxt is None:
            return []
        cur = nxt
    return list(getattr(cur, "model_fields", {}))


def _drop_union_tags(cls, loc):
    """Remove location parts that name a union member rather than a field."""
    out, cur = [], cls
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            cur = _inner_model(cur) if cur is not None and not _is_model(cur) else cur
            continue
        fields = getattr(cur, "model_fields", None) if _is_model(cur) else None
        if fields is None:
            if cur is not None and not _is_model(cur) and _union_members(cur):
                # a tag of a discriminated union: choose the member, drop the part
                member = _member_for_tag(cur, part)
                if member is not None:
                    cur = member
                    continue
            out.append(part)
            cur = None
            continue
        if part not in fields:
            out.append(part)
            cur = None
            continue
        out.append(part)
        cur = _inner_model(fields[part].annotation)
    return tuple(out)


def _is_model(t) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _union_members(t):
    import typing
    args = typing.get_args(t)
    if typing.get_origin(t) is typing.Annotated:
        return _union_members(args[0])
    return [a for a in args if _is_model(a)] or [m for a in args for m in _union_members(a)]


def _member_for_tag(t, tag):
    import typing
    for m in _union_members(t):
        for name, f in m.model_fields.items():
            ann = f.annotation
            if typing.get_origin(ann) is typing.Literal and tag in typing.get_args(ann):
                return m
    return None


def _inner_model(t):
    """The model (or union of models) a field annotation leads to, through Optional/list/dict."""
    import typing
    if t is None or _is_model(t):
        return t
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Annotated:
        return _inner_model(args[0])
    members = _union_members(t)
    if len(members) > 1:
        return t
    if len(members) == 1:
        return members[0]
    for a in args:
        inner = _inner_model(a)
        if inner is not None:
            return inner
    return None


def validate_located(cls, data, *, file):
    """``validate``, but a ConfigError raised by a model-level check keeps its own field
    under the model's location (``tiers[3]`` + ``bw_curve[0].read_bw``)."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        ce = (err.get("ctx") or {}).get("error")
        if isinstance(ce, ConfigError) and ce.field and err["type"] == "value_error":
            loc = field_path(err["loc"])
            if not loc.endswith(ce.field):
                loc = f"{loc}.{ce.field}" if loc else ce.field
            raise ConfigError(ce.problem, file=str(file), field=loc) from None
    return validate(cls, data, file=file)
