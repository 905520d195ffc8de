"""Shared pieces for pydantic-validated YAML: strict models, loading, error conversion.

Every config model derives from ``StrictModel``: unknown keys are errors, scalars
never coerce (pydantic strict mode, ``ground/scalars.py``), numbers are finite, and
values are validated on assignment too (``scenario.kv.block_tokens = -1`` raises a
ConfigError naming ``kv.block_tokens``).  ``validate`` reports every problem pydantic
finds in one pass, one line each.  YAML is read in memsim's dialect
(``ground/yaml12.py``: YAML 1.2 booleans and numbers, no duplicate keys).
"""
from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator, model_validator

from . import yaml12
from .errors import ConfigError, combine
from .scalars import check_int64, number_choices, type_problem

__all__ = ["StrictModel", "load_yaml", "parse_yaml", "validate", "validate_located", "check_shape",
           "field_path", "validation_error"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, scalars never coerce (strict
    mode: no ``True`` for 1, no ``"32"`` for 32), numbers are finite and integers fit in
    64 bits, and values are validated on assignment (errors name the field's path from
    the root model, e.g. ``kv.block_tokens``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              protected_namespaces=(), strict=True, allow_inf_nan=False)

    #: where this model sits in the root model ("kv.tiers[0]"), for assignment errors
    _loc: str = PrivateAttr(default="")

    @field_validator("*", mode="after", check_fields=False)
    @classmethod
    def _int64(cls, v):
        return check_int64(v)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_number_choices(cls, data):
        # strict mode still lets True match Literal[1] (True == 1): refuse it by name
        if isinstance(data, dict):
            for name, choices in number_choices(cls).items():
                if isinstance(data.get(name), bool):
                    want = " or ".join(repr(c) for c in choices)
                    raise ConfigError(f"Input should be {want}, not a boolean "
                                      f"(got {data[name]!r})", field=name)
        return data

    def model_post_init(self, context: Any, /) -> None:
        self._place(self._loc)

    def _place(self, loc: str) -> None:
        """Record ``loc`` here and below (a parent's post-init runs after its children's)."""
        self._loc = loc
        for name in type(self).model_fields:
            child = self.__dict__.get(name)
            here = f"{loc}.{name}" if loc else name
            if isinstance(child, StrictModel):
                child._place(here)
            elif isinstance(child, list):
                for i, item in enumerate(child):
                    if isinstance(item, StrictModel):
                        item._place(f"{here}[{i}]")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name not in type(self).model_fields:
            if not name.startswith("_") and not hasattr(type(self), name):
                where = f"{self._loc}.{name}" if self._loc else name
                raise ConfigError(_unknown_key(name, list(type(self).model_fields)), field=where)
            return super().__setattr__(name, value)
        check_shape(value, field=f"{self._loc}.{name}" if self._loc else name)
        try:
            super().__setattr__(name, value)
        except ValidationError as e:
            raise validation_error(type(self), e, prefix=self._loc or None) from None
        self._place(self._loc)

    def __eq__(self, other: Any) -> bool:
        # equal fields and equal private state, wherever each copy sits in its tree
        if not isinstance(other, BaseModel) or type(other) is not type(self):
            return NotImplemented if not isinstance(other, BaseModel) else False
        mine, theirs = (_private(m) for m in (self, other))
        return mine == theirs and self.__dict__ == other.__dict__

    __hash__ = None  # mutable


def _private(m: BaseModel) -> dict:
    return {k: v for k, v in (m.__pydantic_private__ or {}).items() if k != "_loc"}


def parse_yaml(text: str, *, file: str | None = None, what: str = "invalid YAML") -> Any:
    """``text`` read in memsim's YAML dialect; bad syntax or a duplicate key is a ConfigError."""
    try:
        return yaml12.parse(text)
    except yaml12.TooLarge as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{where}{e.problem}", file=file) from None
    except yaml12.DuplicateKey as e:
        raise ConfigError(f"line {e.line}: key {e.key!r} appears twice in one mapping",
                          file=file) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}{what}: {problem}", file=file) from None


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; a missing file or bad syntax raises ConfigError naming the file."""
    p = Path(path)
    try:
        # read at most one byte past the limit: /dev/zero or a 1 GB file is refused, not read
        with p.open("rb") as f:
            raw = f.read(yaml12.MAX_BYTES + 1)
        if len(raw) > yaml12.MAX_BYTES:
            raise ConfigError(f"larger than {yaml12.MAX_BYTES // 2**20} MiB; memsim reads YAML "
                              "files up to that size (is this the right file?)", file=str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, expected a YAML file", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte {e.start})", file=str(path)) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", file=str(path)) from None
    return parse_yaml(text, file=str(path))


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


def check_shape(data: Any, *, file: str | Path | None = None, field: str | None = None) -> None:
    """Refuse plain data (dicts, lists, tuples) that nests deeper than YAML files may, holds
    more values, or contains itself: a dict built in Python gets the limits a file gets
    (``ground/yaml12.py``), before pydantic recurses into it."""
    count = 0
    on_path: set[int] = set()

    def walk(v: Any, depth: int, where: str) -> None:
        nonlocal count
        count += 1
        if count > yaml12.MAX_NODES:
            raise ConfigError(f"more than {yaml12.MAX_NODES:,} values", file=_s(file), field=where or None)
        if not isinstance(v, (dict, list, tuple)):
            return
        if depth > yaml12.MAX_DEPTH:
            raise ConfigError(f"nested more than {yaml12.MAX_DEPTH} levels deep", file=_s(file),
                              field=where or None)
        if id(v) in on_path:
            raise ConfigError("contains itself (a cycle)", file=_s(file), field=where or None)
        on_path.add(id(v))
        items = v.items() if isinstance(v, dict) else enumerate(v)
        for k, child in items:
            sub = (f"{where}[{k}]" if isinstance(v, (list, tuple))
                   else f"{where}.{k}" if where else str(k))
            # name only the first levels: a path 50 keys long is no help
            walk(child, depth + 1, sub if depth < 4 else where)
        on_path.discard(id(v))

    walk(data, 1, field or "")


def _s(file):
    return None if file is None else str(file)


def validate(cls: type[M], data: Any, *, file: str | Path | None = None, prefix: str | None = None) -> M:
    """Build ``cls`` from ``data``; every problem found becomes one ConfigError line
    (several: a ``ConfigErrors``, one line each)."""
    check_shape(data, file=file, field=prefix)
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise validation_error(cls, e, file=file, prefix=prefix) from None
    except ConfigError as e:
        raise e.located(file=None if file is None else str(file), field_prefix=prefix) from None


def validation_error(cls: type, exc: ValidationError, *, file: str | Path | None = None,
                     prefix: str | None = None) -> ConfigError:
    """A pydantic ValidationError as memsim's error: one ConfigError per field (first
    problem per field: a union's members each report on the same field)."""
    out: dict[str, ConfigError] = {}
    missing: dict[str, list[str]] = {}     # parent path -> required fields missing there
    for err in exc.errors(include_url=False):
        one = _convert(cls, err, prefix)
        if err["type"] == "missing" and one.field:
            parent, _, name = one.field.rpartition(".")
            if parent not in missing:
                out.setdefault(f"missing:{parent}", one)
            missing.setdefault(parent, []).append(name)
            continue
        # a bad key of a mapping also fails its value: one line for that entry
        out.setdefault((one.field or "").removesuffix(".[key]"), one)
    for parent, names in missing.items():   # one line per mapping, not one per field
        if len(names) > 1:
            out[f"missing:{parent}"] = ConfigError(
                f"required fields are missing: {', '.join(names)}", field=parent or None)
    errs = [ConfigError(e.problem, file=None if file is None else str(file), field=e.field)
            for e in out.values()]
    return combine(errs)


def _convert(cls: type, err: dict, prefix: str | None) -> ConfigError:
    loc = field_path(err["loc"], cls)
    ctx_err = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_err, ConfigError) and ctx_err.field and ctx_err.field not in loc:
        loc = f"{loc}.{ctx_err.field}" if loc else ctx_err.field
    if prefix:
        loc = f"{prefix}.{loc}" if loc else prefix
    if isinstance(ctx_err, ConfigError):
        msg = ctx_err.problem
    elif err["type"] == "extra_forbidden":
        msg = _unknown_key(str(err["loc"][-1]), list(_fields_at(cls, err["loc"][:-1])))
    elif err["type"] == "missing":
        msg = "required field is missing"
    else:
        msg = type_problem(err)
        if msg is None:
            msg = err["msg"].removeprefix("Value error, ")   # a plain ValueError's own words
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
    return ConfigError(msg, field=loc or None)


def _unknown_key(key: str, known: list[str]) -> str:
    msg = "unknown key"
    if known:
        close = difflib.get_close_matches(key, known, n=1)
        msg += (f" (did you mean {close[0]!r}?)" if close else "") + f"; known: {', '.join(known)}"
    return msg


def _fields_at(cls, loc):
    """Best-effort: the field names of the model at ``loc`` (for 'known:' hints)."""
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
    tag_next = False   # the field just passed is a union of plain types: its member names the next part
    for part in loc:
        if tag_next and isinstance(part, str):
            tag_next = False
            continue
        tag_next = False
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
        ann = fields[part].annotation
        cur = _inner_model(ann)
        tag_next = cur is None and _plain_union(ann)
    return tuple(out)


def _plain_union(t) -> bool:
    """A Union (``X | Y``) of non-model members: pydantic names the member in the location."""
    if typing.get_origin(t) is typing.Annotated:
        return _plain_union(typing.get_args(t)[0])
    members = [a for a in typing.get_args(t) if a is not type(None)]
    return typing.get_origin(t) in (typing.Union, types.UnionType) and len(members) > 1 \
        and not any(_is_model(a) for a in members)


def _is_model(t) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _union_members(t):
    args = typing.get_args(t)
    if typing.get_origin(t) is typing.Annotated:
        return _union_members(args[0])
    return [a for a in args if _is_model(a)] or [m for a in args for m in _union_members(a)]


def _member_for_tag(t, tag):
    for m in _union_members(t):
        for name, f in m.model_fields.items():
            ann = f.annotation
            if typing.get_origin(ann) is typing.Literal and tag in typing.get_args(ann):
                return m
    return None


def _inner_model(t):
    """The model (or union of models) a field annotation leads to, through Optional/list/dict."""
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
    check_shape(data, file=file)
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
