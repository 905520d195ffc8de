"""Deep or hostile YAML: refused in one line before anything recurses (issue 17).

The limits (``ground/yaml12.py``): 50 levels of nesting, aliases followed; 200,000 values
once every alias is expanded; no alias inside its own anchor; 4 MiB of text.  They hold
for every file memsim reads as YAML (scenarios, sweeps, platforms, models) and for
``--set`` values, and the same limits hold for dicts built in Python
(``ground/schema.py`` ``check_shape``).  Policy specs of every shape get one line too.
"""
from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_helpers import tiny_scenario, warm_up

from memsim.ground import yaml12
from memsim.ground.errors import ConfigError
from memsim.ground.schema import check_shape, parse_yaml

FAST_S = 2.0
HYP = settings(max_examples=25, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])
TINY = yaml.safe_dump(tiny_scenario())


@pytest.fixture(autouse=True, scope="module")
def _warm():
    """Build the CLI once (it imports every command), so a case's wall time is its own."""
    warm_up()


def _flow_list(n):
    return "[" * n + "]" * n


def _flow_map(n):
    return "{a: " * n + "1" + "}" * n


def _block_map(n):
    return "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "v\n"


def _block_list(n):
    return "".join("  " * i + "-\n" for i in range(n)) + "  " * n + "- 1\n"


def _bomb(width=9, levels=9):
    """The 'billion laughs': each anchor is a list of ``width`` aliases to the previous one."""
    out = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(out) + "\n"


DEEP = [
    ("flow list 5000 deep", "x: " + _flow_list(5000) + "\n", "nested more than 50"),
    ("flow map 5000 deep", "x: " + _flow_map(5000) + "\n", "nested more than 50"),
    ("block map 200 deep", _block_map(200), "nested more than 50"),
    ("block list 200 deep", "x:\n" + _block_list(200), "nested more than 50"),
    ("deep inside workload", TINY.replace("kind: synthetic", "kind: synthetic\n  x: " + _flow_list(3000)),
     "nested more than 50"),
    ("billion laughs", _bomb(), "alias"),
    ("a wide bomb", _bomb(width=60, levels=4), "alias"),
    ("bomb inside a valid field", TINY + _bomb(8, 7) + "description: *a6\n", "alias"),
    ("alias deeper than it looks", "a: &a " + _flow_list(30) + "\nb: " + "[" * 25 + "*a" + "]" * 25 + "\n",
     "once aliases are expanded"),
    ("alias inside its anchor", "a: &a [1, *a]\n", "cycle"),
    ("map alias inside its anchor", "a: &a {b: *a}\n", "cycle"),
]


@pytest.mark.parametrize("label,text,needle", DEEP, ids=[c[0] for c in DEEP])
@pytest.mark.parametrize("command", ["run", "sweep", "hw show"])
def test_deep_and_bomb_yaml_is_one_line(cli_error, tmp_path, label, text, needle, command):
    f = tmp_path / "f.yaml"
    f.write_text(text)
    t0 = time.perf_counter()
    cli_error([*command.split(), f], "f.yaml", needle, family="yaml")
    assert time.perf_counter() - t0 < FAST_S


def test_a_huge_file_is_refused_unread(cli_error, tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text(TINY + "# " + "x" * (yaml12.MAX_BYTES + 10) + "\n")
    t0 = time.perf_counter()
    cli_error(["run", f], "big.yaml", "4 MiB", family="yaml")
    assert time.perf_counter() - t0 < FAST_S


def test_a_device_is_refused_unread(cli_error):
    cli_error(["run", "/dev/zero"], "/dev/zero", "4 MiB", family="yaml")


@pytest.mark.parametrize("value,needle", [
    (_flow_list(5000), "nested more than 50"),
    (_flow_map(400), "nested more than 50"),
    ("[" + ", ".join(["1"] * 10) + "]", None),        # fine: a short list, refused by the schema
], ids=["flow list 5000 deep", "flow map 400 deep", "a short list"])
def test_set_values_get_the_same_limits(cli_error, tmp_path, value, needle):
    f = tmp_path / "s.yaml"
    f.write_text(TINY)
    line = cli_error(["run", f, "--set", f"kv.block_tokens={value}"], "kv.block_tokens", family="yaml")
    if needle:
        assert needle in line


def test_a_scenario_set_bomb_is_refused():
    with pytest.raises(ConfigError, match="alias"):
        parse_yaml(_bomb(), file="x.yaml")


POLICY_SHAPES = [
    (42, "got int 42"), (["lru"], "got list"), (True, "got bool"), (None, "no eviction policy"),
    (3.5, "got float"), ("os:system", "unknown eviction policy"), ("memsim.policies.eviction.lru.LRU",
                                                                    "unknown eviction policy"),
    ({"name": 3}, "must be a string"), ({"name": "lru", "bogus": 1}, "bogus"), ({}, "eviction"),
    ({"name": ["lru"]}, "must be a string"), ("", "eviction"), ("../../etc/passwd", "unknown eviction"),
]


@pytest.mark.parametrize("spec,needle", POLICY_SHAPES, ids=[repr(s)[:30] for s, _ in POLICY_SHAPES])
def test_every_policy_spec_shape_is_one_line(cli_error, tmp_path, spec, needle):
    scen = tiny_scenario()
    scen["kv"]["prefix_cache"] = {"enabled": True, "eviction": spec}
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(scen))
    cli_error(["run", f], "p.yaml", "kv.prefix_cache.eviction", needle, family="yaml")


# ---- hypothesis: any nesting shape past the limit -------------------------------------

def _nest(kinds: list[str]) -> str:
    text = "1"
    for k in kinds:
        text = f"[{text}]" if k == "list" else f"{{k: {text}}}"
    return text


@HYP
@given(kinds=st.lists(st.sampled_from(["list", "map"]), min_size=yaml12.MAX_DEPTH + 1, max_size=3000))
def test_any_nesting_past_the_limit_is_refused(kinds):
    with pytest.raises(ConfigError, match="nested more than"):
        parse_yaml("x: " + _nest(kinds), file="f.yaml")


@HYP
@given(kinds=st.lists(st.sampled_from(["list", "map"]), min_size=1, max_size=yaml12.MAX_DEPTH - 2))
def test_nesting_within_the_limit_is_read(kinds):
    assert isinstance(parse_yaml("x: " + _nest(kinds)), dict)


@HYP
@given(width=st.integers(2, 40), levels=st.integers(2, 20))
def test_an_alias_bomb_is_refused_exactly_when_it_expands_past_the_cap(width, levels):
    # nodes once expanded: the mapping, and per level a key and a list of width copies below
    per = [1 + width]
    for _ in range(1, levels):
        per.append(1 + width * per[-1])
    total = 1 + sum(1 + p for p in per)
    if total > yaml12.MAX_NODES or levels + 1 > yaml12.MAX_DEPTH:
        with pytest.raises(ConfigError):
            parse_yaml(_bomb(width, levels))
    else:
        assert len(parse_yaml(_bomb(width, levels))) == levels


@HYP
@given(depth=st.integers(yaml12.MAX_DEPTH + 1, 4000), kind=st.sampled_from([dict, list, tuple]))
def test_python_data_gets_the_same_limits(depth, kind):
    root = cur = kind() if kind is not tuple else []
    for _ in range(depth):
        nxt = {} if kind is dict else []
        if isinstance(cur, dict):
            cur["a"] = nxt
        else:
            cur.append(nxt)
        cur = nxt
    with pytest.raises(ConfigError, match="nested more than"):
        check_shape(root)


def test_a_python_dict_that_contains_itself_is_refused():
    d = {"a": {}}
    d["a"]["b"] = d
    with pytest.raises(ConfigError, match="a.b: contains itself"):
        check_shape(d)
