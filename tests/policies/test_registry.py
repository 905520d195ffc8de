"""The eviction and admission families in the registry, and ``memsim policies``."""
import json

import pytest

from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.policies import create, describe, get, names

EVICTION = {"lru", "fifo", "clock", "lfu", "arc", "2q", "slru", "s3fifo", "sieve", "ttl",
            "belady", "advice"}


def test_builtin_names():
    assert EVICTION <= set(names("eviction"))
    assert {"always", "second_hit", "size_threshold"} <= set(names("admission"))


def test_opt_is_an_alias_of_belady():
    assert get("eviction", "opt") is get("eviction", "belady")
    row = [r for r in describe() if r["kind"] == "eviction" and r["name"] == "belady"][0]
    assert row["aliases"] == "opt"


def test_every_builtin_names_its_paper():
    rows = {(r["kind"], r["name"]): r for r in describe()}
    for n in EVICTION:
        r = rows[("eviction", n)]
        assert r["summary"] and '"' in r["paper"], n       # a quoted paper title


def test_create_with_parameters_and_context():
    p = create("eviction", {"name": "s3fifo", "small_fraction": 0.2}, capacity=100)
    assert p.small_capacity == 20
    a = create("admission", "size_threshold", capacity=100)
    assert a.max_size == 10 and a.admit("k", 10, 0.0) and not a.admit("k", 11, 0.0)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'sieve'"):
        create("eviction", "seive", capacity=3)


def test_a_module_path_is_an_unknown_policy_not_an_import():
    with pytest.raises(ConfigError, match="unknown eviction policy .*--plugin"):
        create("eviction", "memsim.policies.eviction.lru:LRU", capacity=3)


def test_cli_policies_json_lists_every_family(capsys):
    assert main(["policies", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    kinds = {r["kind"] for r in rows}
    assert {"eviction", "admission"} <= kinds
    assert EVICTION <= {r["name"] for r in rows if r["kind"] == "eviction"}
    assert all(set(r) == {"kind", "name", "aliases", "summary", "paper"} for r in rows)


def test_cli_policies_table(capsys):
    assert main(["policies", "--kind", "admission"]) == 0
    out = capsys.readouterr().out
    assert "second_hit" in out and "TinyLFU" in out and "lru" not in out.split()


def test_package_exports_match_the_registry():
    import memsim.policies.admission as adm
    import memsim.policies.eviction as ev
    exported = {getattr(ev, n).name for n in ev.__all__ if hasattr(getattr(ev, n), "name")
                and isinstance(getattr(getattr(ev, n), "name"), str)}
    assert exported == EVICTION
    assert {getattr(adm, n).name for n in adm.__all__ if n != "Admission"} == \
        {"always", "second_hit", "size_threshold"}
