"""Values that parse but are wrong, for every scalar field of the scenario schema.

The fields are not listed by hand: they are walked from the models (``Scenario``,
its sections, the workload and distribution members the base files choose, the
flash and offload kinds), each with its family (integer, number, boolean, text,
choice, quantity of a dimension, policy spec).  Each family gets values of the
wrong kind (integers get booleans, floats, text and values beyond 64 bits;
quantities get bare numbers and units of another dimension; ...), written into the
file and, as text, through ``--set``.  Every case must end in one stderr line that
names the file and the field, exit status 2, no traceback.
"""
from __future__ import annotations

import typing

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from robust_helpers import tiny_scenario

from memsim.sim.config import Scenario
from memsim.sim.offload.scenario import FlashScenario, OffloadScenario

TRACE = ('{"timestamp": 0, "input_length": 40, "output_length": 2, "hash_ids": [1]}\n'
         '{"timestamp": 100, "input_length": 40, "output_length": 2, "hash_ids": [1]}\n')
CSV = "timestamp,input_tokens,output_tokens\n0,40,2\n0.1,40,2\n"


def _bases() -> dict[str, dict]:
    """Valid files whose every optional section is present, so every field has a place."""
    serve = tiny_scenario()
    serve.update(engine={"closed_form": True, "sample_interval": "1 s", "max_sim_time": "0 s"},
                 parallelism={"tp": 1})
    serve["kv"].update(prefix_cache={"enabled": True, "eviction": "lru"},
                       tiers=[{"tier": "dram", "capacity": "1 GiB", "eviction": "lru",
                               "chunk_tokens": 256}],
                       memory_fraction=0.9, activation_reserve="0 GiB", session_ttl="1 s")
    serve["workload"]["sessions"] = {"turns": {"dist": "fixed", "value": 2},
                                     "think_time": {"dist": "fixed", "value": "1 s"},
                                     "tool_call_fraction": 0.0, "max_input_tokens": 4000}
    mooncake = tiny_scenario()
    mooncake["workload"] = {"kind": "mooncake", "path": "t.jsonl", "limit": 2,
                            "time_scale": 1.0, "start": "0 s", "end": "1 h",
                            "hash_block_tokens": 512}
    csv = tiny_scenario()
    csv["workload"] = {"kind": "csv", "path": "t.csv", "time_unit": "s", "delimiter": ","}
    flash = {"kind": "flash", "platform": "laptop_flash", "model": "opt-6.7b", "tokens": 3,
             "policies": ["naive"], "seed": 0, "warmup_tokens": 1, "prompt_tokens": 0,
             "activations": {"activation_rate": 0.1, "correlation": 0.7}, "dram": "6 GiB",
             "queue_depth": 8, "max_read": "4 MiB"}
    offload = {"kind": "offload", "platform": "rtx4090", "model": "opt-30b", "batch": 4,
               "prompt_len": 8, "gen_len": 2, "gpu_memory": "16 GiB", "cpu_memory": "64 GiB",
               "disk": "1 TB", "search": False, "placement": {"num_gpu_batches": 1}}
    return {"serve": serve, "mooncake": mooncake, "csv": csv, "flash": flash,
            "offload": offload}


BASES = _bases()
MODELS = {"serve": Scenario, "mooncake": Scenario, "csv": Scenario, "flash": FlashScenario,
          "offload": OffloadScenario}
#: fields parsed by their own validator: (model name, field) -> family
CUSTOM = {("TierConfig", "capacity"): "size", ("KVConfig", "session_ttl"): "time"}
_UNIT_FAMILY = {"parse_size": "size", "parse_time": "time", "parse_rate": "rate",
                "parse_bandwidth": "bandwidth"}


def _strip(ann):
    """(inner annotation, metadata) through Optional and Annotated."""
    meta = []
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            args = typing.get_args(ann)
            ann, meta = args[0], meta + list(args[1:])
        elif origin is typing.Union or type(ann).__name__ == "UnionType":
            inner = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(inner) != 1:
                return ann, meta
            ann = inner[0]
        else:
            return ann, meta


def _family(model, name, info) -> str | None:
    if (model.__name__, name) in CUSTOM:
        return CUSTOM[(model.__name__, name)]
    ann, meta = _strip(info.annotation)
    meta = meta + list(info.metadata)
    for m in meta:
        func = getattr(m, "func", None)
        if func is not None:
            fname = getattr(func, "__name__", "")
            if fname in _UNIT_FAMILY:
                return _UNIT_FAMILY[fname]
            return "policy" if fname == "<lambda>" else None
    if typing.get_origin(ann) is typing.Literal:
        return "literal" if name not in ("kind", "dist", "process") else None
    if typing.get_origin(ann) is typing.Union:
        return None
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(ann)


def _member(ann, data):
    """The model a (possibly discriminated-union) annotation takes for ``data``."""
    ann, _ = _strip(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for m in typing.get_args(ann):
        m, _ = _strip(m)
        if not (isinstance(m, type) and issubclass(m, BaseModel)):
            continue
        for key in ("kind", "dist", "process"):
            f = m.model_fields.get(key)
            if f is not None and isinstance(data, dict) and \
                    data.get(key) in typing.get_args(f.annotation):
                return m
    return None


def _fields(model, data, prefix="", path=""):
    """(dotted path for mutation, printed field name, family) of every scalar field."""
    out = []
    for name, info in model.model_fields.items():
        dotted, shown = f"{path}{name}", f"{prefix}{name}"
        value = data.get(name) if isinstance(data, dict) else None
        fam = _family(model, name, info)
        if fam is not None:
            choices = typing.get_args(_strip(info.annotation)[0]) if fam == "literal" else ()
            out.append((dotted, shown, fam, choices))
            continue
        inner, _ = _strip(info.annotation)
        if typing.get_origin(inner) is list and isinstance(value, list) and value:
            sub = _member(typing.get_args(inner)[0], value[0])
            if sub is not None:
                out += _fields(sub, value[0], f"{shown}[0].", f"{dotted}.0.")
            continue
        sub = _member(info.annotation, value if value is not None else {})
        if sub is not None and isinstance(value, dict):
            out += _fields(sub, value, f"{shown}.", f"{dotted}.")
    return out


FIELDS = [(base, *f) for base in BASES for f in _fields(MODELS[base], BASES[base])]
# the serve fields once (from the synthetic base), trace fields from the trace bases
FIELDS = [f for f in FIELDS if f[0] in ("serve", "flash", "offload")
          or f[1].startswith("workload.")]

_OTHER_UNITS = {"size": ["5 s", "5 req/s", "5 GB/s"], "time": ["5 GiB", "5 req/s", "5 Hz"],
                "rate": ["5 GiB", "5 s", "5 GB/s"], "bandwidth": ["5 GiB", "5 s"]}
_TEXT = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
_HUGE = st.one_of(st.integers(min_value=2**63, max_value=2**200),
                  st.integers(min_value=-2**200, max_value=-2**63 - 1))


def bad_values(fam: str, choices=()) -> st.SearchStrategy:
    """Values a field of family ``fam`` must refuse."""
    if fam == "int":
        return st.one_of(st.booleans(), st.floats(allow_nan=False, allow_infinity=False), _TEXT,
                         st.sampled_from(["12", "1_000", "1:30", "yes", "on"]), _HUGE,
                         st.just([1, 2]))
    if fam == "float":
        return st.one_of(st.booleans(), _TEXT, st.sampled_from(["0.5", "1e3", "yes"]),
                         st.sampled_from([float("nan"), float("inf"), -float("inf")]),
                         st.just([0.5]))
    if fam == "bool":
        return st.one_of(st.integers(-3, 3), st.floats(allow_nan=False),
                         st.sampled_from(["yes", "no", "on", "off", "true", "1", "y"]), _TEXT)
    if fam == "str":
        return st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False),
                         st.just(["a"]), st.just({"a": 1}))
    if fam == "literal":
        return st.one_of(_TEXT.filter(lambda t: t not in choices), st.integers(), st.booleans())
    if fam == "policy":
        return st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False),
                         st.just([1]), st.sampled_from(["os.path:join", "nosuch_policy"]))
    # a quantity: bare numbers (zero alone is allowed), booleans, other dimensions, junk
    return st.one_of(st.integers(1, 10**6), st.floats(0.5, 1e6), st.booleans(),
                     st.sampled_from(_OTHER_UNITS[fam]), st.sampled_from(["5 parsec", "-5",
                                                                          "lots"]))


class _Quoted(yaml.SafeDumper):
    """Text always quoted, so "1e3" stays text when read back (YAML 1.2 would read a float)."""


_Quoted.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s,
                                                             style='"'))


def _write(tmp_path, base, dotted, value):
    import copy
    data = copy.deepcopy(BASES[base])
    cur = data
    parts = dotted.split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    cur[parts[-1]] = value
    (tmp_path / "t.jsonl").write_text(TRACE)
    (tmp_path / "t.csv").write_text(CSV)
    f = tmp_path / "bad_value.yaml"
    f.write_text(yaml.dump(data, Dumper=_Quoted, sort_keys=False))
    return f


def _check(cli_error, f, shown, extra=()):
    line = cli_error(["run", f, "--json", *extra], "bad_value.yaml", shown, family="scalar")
    assert f"{shown}:" in line or f"{shown}." in line, line


def _ids(f):
    return f"{f[0]}:{f[2]}:{f[3]}"


def test_field_list():   # printed with -s: what the walk found
    for f in FIELDS:
        print(f[:4])


def test_the_walk_finds_every_family():
    fams = {f[3] for f in FIELDS}
    assert {"int", "float", "bool", "str", "literal", "size", "time", "rate", "policy"} <= fams
    names = {f[2] for f in FIELDS}
    for must in ("kv.block_tokens", "parallelism.tp", "scheduler.chunked_prefill",
                 "workload.arrivals.rate", "kv.tiers[0].capacity", "engine.sample_interval",
                 "workload.sessions.think_time.value", "kv.prefix_cache.eviction", "tokens",
                 "activations.correlation", "batch", "workload.time_scale", "seed"):
        assert must in names, must
    assert len(FIELDS) > 60


@pytest.mark.parametrize("field", FIELDS, ids=_ids)
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_wrong_value_in_the_file_names_its_field(tmp_path, cli_error, field, data):
    base, dotted, shown, fam, choices = field
    value = data.draw(bad_values(fam, choices))
    _check(cli_error, _write(tmp_path, base, dotted, value), shown)


#: --set text that YAML 1.1 would have read as a number or a boolean
SET_TEXT = {"int": ["yes", "on", "true", "1_000", "1:30", "2.0", "1e3", "12 tokens", "'12'"],
            "float": ["yes", "on", "true", "'0.5'", "50%", ".nan", ".inf"],
            "bool": ["yes", "no", "on", "off", "1", "0", "'true'", "y"],
            "size": ["5", "5.0", "yes", "5 s"], "time": ["5", "2.5", "on", "5 GiB"],
            "rate": ["5", "yes", "5 GiB"]}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from([f for f in FIELDS if f[3] in SET_TEXT and "[" not in f[2]]),
       data=st.data())
def test_a_wrong_set_value_names_its_field(tmp_path, cli_error, field, data):
    base, dotted, shown, fam, _ = field
    text = data.draw(st.sampled_from(SET_TEXT[fam]))
    f = _write(tmp_path, base, "platform", BASES[base]["platform"])   # the base as it is
    _check(cli_error, f, shown, ["--set", f"{dotted}={text}"])
